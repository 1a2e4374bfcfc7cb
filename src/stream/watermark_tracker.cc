#include "stream/watermark_tracker.h"

#include <algorithm>

namespace tidemark::stream {

WatermarkTracker::WatermarkTracker(int partitions, int64_t allowed_lateness_ms, int64_t idle_timeout_ms)
    : inputs_(static_cast<size_t>(std::max(partitions, 0))),
      lateness_ms_(allowed_lateness_ms),
      idle_timeout_ms_(idle_timeout_ms) {}

void WatermarkTracker::Observe(int partition, int64_t event_time_ms, int64_t now_ms) {
  Input& in = inputs_.at(static_cast<size_t>(partition));
  in.max_event_time = std::max(in.max_event_time, event_time_ms);
  in.last_activity_ms = now_ms;
}

void WatermarkTracker::Restore(int partition, int64_t max_event_time_ms, int64_t now_ms) {
  Input& in = inputs_.at(static_cast<size_t>(partition));
  in.max_event_time = max_event_time_ms;
  if (max_event_time_ms != kNone) in.last_activity_ms = now_ms;
}

int64_t WatermarkTracker::PartitionWatermark(int partition) const {
  const Input& in = inputs_.at(static_cast<size_t>(partition));
  return in.max_event_time == kNone ? kNone : in.max_event_time - lateness_ms_;
}

bool WatermarkTracker::IsIdle(int partition, int64_t now_ms) const {
  const Input& in = inputs_.at(static_cast<size_t>(partition));
  return in.last_activity_ms == kNone || now_ms - in.last_activity_ms >= idle_timeout_ms_;
}

int64_t WatermarkTracker::Watermark(int64_t now_ms) const {
  int64_t active_min = kNone, idle_max = kNone;
  bool any_active = false;
  for (size_t p = 0; p < inputs_.size(); ++p) {
    int64_t wm = PartitionWatermark(static_cast<int>(p));
    if (wm == kNone) continue;
    if (IsIdle(static_cast<int>(p), now_ms)) {
      idle_max = std::max(idle_max, wm);
    } else {
      active_min = any_active ? std::min(active_min, wm) : wm;
      any_active = true;
    }
  }
  return any_active ? active_min : idle_max;
}

}  // namespace tidemark::stream
