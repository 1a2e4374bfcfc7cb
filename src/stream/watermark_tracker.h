// Event-time progress over several input partitions, as Flink's bounded-out-of-orderness
// watermarks with idleness: each partition's watermark is its largest event time minus the
// allowed lateness; the combined watermark is the minimum over partitions that have had
// data within the idle timeout (processing time), so one quiet partition cannot hold every
// window open. A partition that has never had data does not count.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace tidemark::stream {

// Not thread-safe; its owner serialises access (StreamService guards it with a mutex).
class WatermarkTracker {
 public:
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::min();

  WatermarkTracker(int partitions, int64_t allowed_lateness_ms, int64_t idle_timeout_ms);

  // An event of `partition` with this event time was processed at processing time now_ms.
  void Observe(int partition, int64_t event_time_ms, int64_t now_ms);
  // Sets a partition's largest event time directly (restored from a checkpoint).
  void Restore(int partition, int64_t max_event_time_ms, int64_t now_ms);
  int64_t PartitionWatermark(int partition) const;
  bool IsIdle(int partition, int64_t now_ms) const;
  // Min over active partitions; when every partition is idle, the largest of them (nothing
  // is in flight, so the most advanced clock holds); kNone before any data.
  int64_t Watermark(int64_t now_ms) const;

 private:
  struct Input {
    int64_t max_event_time = kNone;
    int64_t last_activity_ms = kNone;
  };
  std::vector<Input> inputs_;
  int64_t lateness_ms_;
  int64_t idle_timeout_ms_;
};

}  // namespace tidemark::stream
