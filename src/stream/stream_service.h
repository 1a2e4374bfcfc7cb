// StreamService: the stream and real-time stages as one object the server owns. It runs one
// PartitionTask per partition of user-events and server-events (plus one per dlq-events
// partition, which only counts rejections), feeds a shared RealtimeStore, and answers
// GET /v1/query from it.
//
// Threading: Start() spawns one thread per task; each thread owns its task and processor
// exclusively (poll → process → emit every stream.early_result_interval_ms → checkpoint
// every stream.checkpoint_interval_ms). Shared between threads: the RealtimeStore
// (internally locked), the watermark tracker and task snapshots (guarded by mu_), metrics
// (atomics). HandleQuery, Ledger, LateAlert, Watermark and ready() are thread-safe and may
// be called from HTTP I/O threads at any time. Stop() signals the threads, joins them and
// writes a final checkpoint per task; it is idempotent and also run by the destructor.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "gateway/gateway.h"
#include "log/log.h"
#include "realtime/realtime_store.h"
#include "stream/ledger.h"
#include "stream/partition_task.h"
#include "stream/watermark_tracker.h"

namespace tidemark::stream {

// The late-data alert condition: late events above the threshold share of all events over
// the last five minutes of received_at (threshold: stream.late_alert_ratio).
struct LateAlert {
  bool firing = false;
  double ratio = 0;
  uint64_t late = 0;
  uint64_t total = 0;
};

// Reads the stream.* and realtime.* settings; InvalidArgument for ill-formed lists.
Result<ProcessorOptions> ProcessorOptionsFromConfig(const Config& config);
TaskOptions TaskOptionsFromConfig(const Config& config);

class StreamService {
 public:
  // log, metrics and clock must outlive the service. data_dir is the server's data
  // directory (state under data_dir/state, real-time store under data_dir/realtime).
  // `registry` (may be null: JSON values only) resolves the schema ids of Avro values.
  StreamService(log::Log* log, std::string data_dir, const Config& config, MetricsRegistry* metrics,
                const Clock* clock, schema::Registry* registry = nullptr);
  ~StreamService();
  StreamService(const StreamService&) = delete;
  StreamService& operator=(const StreamService&) = delete;

  // Validates settings, creates missing topics, loads the real-time store, restores every
  // task's checkpoint and starts the task threads. ready() turns true once every task has
  // caught up with the log end it saw at start (replay finished).
  Status Start();
  // Stops the threads and writes a final checkpoint per task. Returns the first error.
  Status Stop();

  // GET /v1/query (read scope is checked by the gateway route).
  gateway::HttpResponse HandleQuery(const gateway::HttpRequest& request) const;

  std::vector<LedgerRow> Ledger() const;
  LateAlert GetLateAlert() const;
  // Min over non-idle partitions of (max event time − allowed lateness); kNone before data.
  int64_t Watermark() const;
  bool ready() const { return ready_.load(); }
  realtime::RealtimeStore& store() { return *store_; }
  const std::vector<std::string>& dimensions() const { return processor_options_.dimensions; }

 private:
  struct TaskRunner {
    std::shared_ptr<PartitionTask> task;  // shared with metrics callbacks, which may outlive us
    std::thread thread;
    int tracker_index = -1;   // -1 for dlq tasks (no event time)
    int64_t catch_up_offset = 0;
    std::atomic<bool> caught_up{false};
  };
  void Run(TaskRunner* runner);
  void Housekeeping();

  log::Log* log_;
  std::string data_dir_;
  const Config& config_;
  MetricsRegistry* metrics_;
  const Clock* clock_;
  schema::Registry* registry_;
  ProcessorOptions processor_options_;
  TaskOptions task_options_;
  double late_alert_ratio_ = 0.05;
  std::shared_ptr<realtime::RealtimeStore> store_;

  std::vector<std::unique_ptr<TaskRunner>> runners_;
  std::thread housekeeping_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  bool started_ = false;
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;

  mutable std::mutex mu_;
  std::unique_ptr<WatermarkTracker> tracker_;
};

}  // namespace tidemark::stream
