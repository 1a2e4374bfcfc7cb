#include "stream/stream_service.h"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include "common/time_format.h"
#include "realtime/query.h"

namespace tidemark::stream {
namespace {

std::vector<std::string> SplitNames(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string name = s.substr(start, end - start);
    while (!name.empty() && name.front() == ' ') name.erase(name.begin());
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (!name.empty()) out.push_back(name);
    start = end + 1;
  }
  return out;
}

Status EnsureTopic(log::Log* log, std::string_view topic, int partitions) {
  auto count = log->PartitionCount(topic);
  if (count.ok()) return Status::Ok();
  return log->CreateTopic(topic, partitions);
}

LateAlert ComputeLateAlert(const std::vector<std::shared_ptr<PartitionTask>>& tasks, double threshold) {
  LateAlert a;
  for (const auto& t : tasks) {
    LateStats s = t->Snapshot().late;
    a.late += s.late;
    a.total += s.total;
  }
  a.ratio = a.total ? static_cast<double>(a.late) / static_cast<double>(a.total) : 0;
  a.firing = a.total > 0 && a.ratio > threshold;
  return a;
}

}  // namespace

Result<ProcessorOptions> ProcessorOptionsFromConfig(const Config& c) {
  ProcessorOptions o;
  o.dedup_ttl_ms = c.GetInt("stream.dedup_ttl_ms");
  o.dedup_max_keys = c.GetInt("stream.dedup_max_keys");
  o.dedup_expected_keys = c.GetInt("stream.dedup_expected_keys");
  o.allowed_lateness_ms = c.GetInt("stream.allowed_lateness_ms");
  o.session_gap_ms = c.GetInt("stream.session_gap_ms");
  o.max_open_sessions = c.GetInt("stream.max_open_sessions");
  o.max_window_cells = c.GetInt("stream.max_window_cells");
  o.retention_ms = c.GetInt("realtime.retention_days") * 86'400'000;
  o.dimensions = SplitNames(c.GetString("stream.dimensions"));
  o.numeric_properties = SplitNames(c.GetString("stream.numeric_properties"));
  RETURN_IF_ERROR(ValidateProcessorOptions(o));
  return o;
}

TaskOptions TaskOptionsFromConfig(const Config& c) {
  TaskOptions t;
  t.early_result_interval_ms = c.GetInt("stream.early_result_interval_ms");
  t.checkpoint_interval_ms = c.GetInt("stream.checkpoint_interval_ms");
  t.read_max_bytes = static_cast<size_t>(c.GetInt("stream.read_max_bytes"));
  t.late_events_partitions = static_cast<int>(c.GetInt("topics.late_events.partitions"));
  return t;
}

StreamService::StreamService(log::Log* log, std::string data_dir, const Config& config, MetricsRegistry* metrics,
                             const Clock* clock, schema::Registry* registry)
    : log_(log), data_dir_(std::move(data_dir)), config_(config), metrics_(metrics), clock_(clock),
      registry_(registry) {}

StreamService::~StreamService() { (void)Stop(); }

Status StreamService::Start() {
  if (started_) return Status::FailedPrecondition("StreamService already started");
  ASSIGN_OR_RETURN(processor_options_, ProcessorOptionsFromConfig(config_));
  processor_options_.registry = registry_;
  task_options_ = TaskOptionsFromConfig(config_);
  late_alert_ratio_ = config_.GetDouble("stream.late_alert_ratio");
  store_ = std::make_shared<realtime::RealtimeStore>(
      data_dir_ + "/realtime", config_.GetInt("realtime.retention_days") * 86'400'000, clock_);
  RETURN_IF_ERROR(store_->Load());

  struct TopicSpec {
    std::string_view topic;
    const char* partitions_setting;
    PartitionProcessor::Mode mode;
  };
  const TopicSpec specs[] = {
      {log::kUserEvents, "topics.user_events.partitions", PartitionProcessor::Mode::kEvents},
      {log::kServerEvents, "topics.server_events.partitions", PartitionProcessor::Mode::kEvents},
      {log::kDlqEvents, "topics.dlq_events.partitions", PartitionProcessor::Mode::kDlq},
  };
  RETURN_IF_ERROR(EnsureTopic(log_, log::kLateEvents, task_options_.late_events_partitions));
  ASSIGN_OR_RETURN(task_options_.late_events_partitions, log_->PartitionCount(log::kLateEvents));
  int event_tasks = 0;
  for (const auto& spec : specs) {
    RETURN_IF_ERROR(EnsureTopic(log_, spec.topic, static_cast<int>(config_.GetInt(spec.partitions_setting))));
    ASSIGN_OR_RETURN(int partitions, log_->PartitionCount(spec.topic));
    for (int p = 0; p < partitions; ++p) {
      auto runner = std::make_unique<TaskRunner>();
      runner->task = std::make_shared<PartitionTask>(log_, store_.get(), clock_, metrics_, data_dir_,
                                                     std::string(spec.topic), p, spec.mode, processor_options_,
                                                     task_options_);
      RETURN_IF_ERROR(runner->task->Restore());
      ASSIGN_OR_RETURN(runner->catch_up_offset, log_->EndOffset(spec.topic, p));
      if (spec.mode == PartitionProcessor::Mode::kEvents) runner->tracker_index = event_tasks++;
      runners_.push_back(std::move(runner));
    }
  }
  tracker_ = std::make_unique<WatermarkTracker>(event_tasks, processor_options_.allowed_lateness_ms,
                                                config_.GetInt("stream.idle_timeout_ms"));
  const int64_t now = clock_->NowMillis();
  for (auto& r : runners_) {
    if (r->tracker_index >= 0) tracker_->Restore(r->tracker_index, r->task->Snapshot().max_event_time_ms, now);
  }
  if (metrics_) {
    for (auto& r : runners_) {
      std::shared_ptr<PartitionTask> task = r->task;
      Labels labels = {{"topic", task->topic()}, {"partition", std::to_string(task->partition())}};
      metrics_->AddCallbackGauge("tidemark_stream_dedup_keys", "live event ids in the dedup state", labels,
                                 [task] { return static_cast<double>(task->Snapshot().dedup_keys); });
      metrics_->AddCallbackGauge("tidemark_stream_dedup_bytes_per_key",
                                 "dedup state bytes per live event id (target <= 24)", labels,
                                 [task] { return task->Snapshot().dedup_bytes_per_key; });
      metrics_->AddCallbackGauge("tidemark_stream_watermark_ms", "partition watermark (event time, ms)", labels,
                                 [task] { return static_cast<double>(task->Snapshot().watermark_ms); });
      metrics_->AddCallbackGauge("tidemark_stream_backpressured", "1 while the dedup state is full", labels,
                                 [task] { return task->Snapshot().backpressured ? 1.0 : 0.0; });
      metrics_->AddCallbackGauge("tidemark_stream_open_window_cells", "open (window, dimensions) cells", labels,
                                 [task] { return static_cast<double>(task->Snapshot().open_window_cells); });
      metrics_->AddCallbackGauge("tidemark_stream_open_sessions", "open user sessions", labels,
                                 [task] { return static_cast<double>(task->Snapshot().open_sessions); });
      metrics_->AddCallbackGauge("tidemark_stream_lag_records", "records in the log not yet processed", labels,
                                 [task] { return static_cast<double>(task->Snapshot().lag_records); });
    }
    std::vector<std::shared_ptr<PartitionTask>> tasks;
    for (auto& r : runners_) tasks.push_back(r->task);
    const double ratio = late_alert_ratio_;
    metrics_->AddCallbackGauge("tidemark_stream_late_alert", "1 while late events exceed the alert ratio", {},
                               [tasks, ratio] { return ComputeLateAlert(tasks, ratio).firing ? 1.0 : 0.0; });
    std::shared_ptr<realtime::RealtimeStore> store = store_;
    metrics_->AddCallbackGauge("tidemark_realtime_cells", "cells in the real-time store", {},
                               [store] { return static_cast<double>(store->CellCount()); });
  }
  started_ = true;
  stop_ = false;
  for (auto& r : runners_) {
    TaskRunner* runner = r.get();
    runner->thread = std::thread([this, runner] { Run(runner); });
  }
  housekeeping_ = std::thread([this] { Housekeeping(); });
  return Status::Ok();
}

void StreamService::Run(TaskRunner* runner) {
  pthread_setname_np(pthread_self(), "tm-stream");  // per-thread CPU in /proc names the stage
  PartitionTask& task = *runner->task;
  while (!stop_.load()) {
    auto consumed = task.PollOnce();
    TaskStatus snap = task.Snapshot();
    if (runner->tracker_index >= 0 && snap.max_event_time_ms != WatermarkTracker::kNone && consumed.ok() &&
        *consumed > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      tracker_->Observe(runner->tracker_index, snap.max_event_time_ms, clock_->NowMillis());
    }
    if (!runner->caught_up.load() && snap.next_offset >= runner->catch_up_offset) {
      runner->caught_up = true;
      bool all = true;
      for (auto& r : runners_) all = all && r->caught_up.load();
      if (all) ready_ = true;
    }
    if (!consumed.ok()) {
      spdlog::warn("stream {}: poll failed: {}", task.shard(), consumed.status().ToString());
    }
    if (!consumed.ok() || *consumed == 0 || snap.backpressured) {
      // Idle, failing or paused: wait a little (Stop wakes us at once).
      std::unique_lock<std::mutex> lock(wait_mu_);
      wait_cv_.wait_for(lock, std::chrono::milliseconds(snap.backpressured ? 200 : 20),
                        [this] { return stop_.load(); });
    }
  }
}

void StreamService::Housekeeping() {
  // Real-time retention once a minute; cheap when nothing has aged out.
  while (!stop_.load()) {
    if (Status st = store_->EnforceRetention(); !st.ok()) {
      spdlog::warn("realtime retention: {}", st.ToString());
    }
    std::unique_lock<std::mutex> lock(wait_mu_);
    wait_cv_.wait_for(lock, std::chrono::seconds(60), [this] { return stop_.load(); });
  }
}

Status StreamService::Stop() {
  if (!started_) return Status::Ok();
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
    stop_ = true;
  }
  wait_cv_.notify_all();
  for (auto& r : runners_) {
    if (r->thread.joinable()) r->thread.join();
  }
  if (housekeeping_.joinable()) housekeeping_.join();
  Status first;
  for (auto& r : runners_) {
    Status st = r->task->Checkpoint();
    if (!st.ok()) {
      spdlog::error("stream {}: final checkpoint failed: {}", r->task->shard(), st.ToString());
      if (first.ok()) first = st;
    }
  }
  started_ = false;
  return first;
}

gateway::HttpResponse StreamService::HandleQuery(const gateway::HttpRequest& request) const {
  if (!store_) {
    gateway::HttpResponse resp;
    resp.status = 503;
    resp.body = "{\"error\":\"stream service not started\"}";
    return resp;
  }
  return realtime::HandleQueryRequest(*store_, processor_options_.dimensions, clock_->NowMillis(), request);
}

std::vector<LedgerRow> StreamService::Ledger() const {
  std::vector<LedgerRow> rows;
  for (const auto& r : runners_) {
    TaskStatus s = r->task->Snapshot();
    for (const auto& [day, counts] : s.ledger) {
      rows.push_back(LedgerRow{r->task->topic(), r->task->partition(), FormatDate(day), counts});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const LedgerRow& a, const LedgerRow& b) {
    return std::tie(a.day, a.topic, a.partition) < std::tie(b.day, b.topic, b.partition);
  });
  return rows;
}

LateAlert StreamService::GetLateAlert() const {
  std::vector<std::shared_ptr<PartitionTask>> tasks;
  for (const auto& r : runners_) tasks.push_back(r->task);
  return ComputeLateAlert(tasks, late_alert_ratio_);
}

int64_t StreamService::Watermark() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tracker_ ? tracker_->Watermark(clock_->NowMillis()) : WatermarkTracker::kNone;
}

}  // namespace tidemark::stream
