#include "server/server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "batch/batch.h"
#include "common/clock.h"
#include "common/time_format.h"
#include "event/json_writer.h"
#include "common/files.h"
#include "common/metrics.h"
#include "gateway/gateway.h"
#include "gateway/key_store.h"
#include "lake/bronze_writer.h"
#include "log/embedded_log.h"
#include "schema/ingest_encoder.h"
#include "schema/registry.h"
#include "schema/registry_http.h"
#include "stream/stream_service.h"

namespace tidemark::server {
namespace {

// Holds an exclusive flock on <data>/LOCK so two servers never share a data directory.
class DataDirLock {
 public:
  Status Acquire(const std::string& data_dir) {
    std::string path = data_dir + "/LOCK";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return ErrnoStatus("open(" + path + ")", errno);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      return Status::FailedPrecondition("data directory " + data_dir +
                                        " is in use by another tidemark process (" + path + " is locked)");
    }
    return Status::Ok();
  }
  ~DataDirLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

// Periodic housekeeping (log retention) on its own thread until stopped.
class Housekeeper {
 public:
  explicit Housekeeper(log::Log* log) : log_(log), thread_([this] { Run(); }) {}
  ~Housekeeper() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(60), [this] { return stop_; })) {
      lock.unlock();
      Status st = log_->EnforceRetention();
      if (!st.ok()) spdlog::warn("log retention: {}", st.ToString());
      lock.lock();
    }
  }

  log::Log* log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Runs the batch jobs on schedule: the correction every batch.correction_interval_minutes
// (rebuilds dates whose bronze gained late files) and, once a day after batch.daily_run_utc,
// yesterday's silver and all gold. One scheduler per data directory; its own thread.
class BatchScheduler {
 public:
  BatchScheduler(std::string data_dir, const Config& config)
      : data_dir_(std::move(data_dir)),
        options_(batch::BatchOptionsFromConfig(config)),
        interval_ms_(config.GetInt("batch.correction_interval_minutes") * 60000),
        daily_at_minutes_(ParseHhMm(config.GetString("batch.daily_run_utc"))),
        thread_([this] { Run(); }) {}
  ~BatchScheduler() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  static int64_t ParseHhMm(const std::string& hhmm) {
    int h = 1, m = 0;
    if (std::sscanf(hhmm.c_str(), "%d:%d", &h, &m) != 2) spdlog::warn("batch.daily_run_utc '{}' is not HH:MM; using 01:00", hhmm);
    return h * 60 + m;
  }

  void Run() {
    int64_t last_correction = SystemClock::Instance().NowMillis();
    std::string last_daily;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(30), [this] { return stop_; })) {
      lock.unlock();
      const int64_t now = SystemClock::Instance().NowMillis();
      const std::string today = FormatDate(now);
      if ((now % 86400000) / 60000 >= daily_at_minutes_ && last_daily != today) {
        const std::string yesterday = FormatDate(now - 86400000);
        Status st = batch::RunBatch(data_dir_, yesterday, yesterday, options_);
        if (st.ok()) spdlog::info("batch: daily run for {} done", yesterday);
        else spdlog::warn("batch: daily run for {}: {}", yesterday, st.ToString());
        last_daily = today;
      }
      if (interval_ms_ > 0 && now - last_correction >= interval_ms_) {
        Status st = batch::RunHourlyCorrection(data_dir_, options_);
        if (!st.ok()) spdlog::warn("batch: correction: {}", st.ToString());
        last_correction = now;
      }
      lock.lock();
    }
  }

  std::string data_dir_;
  batch::BatchOptions options_;
  int64_t interval_ms_;
  int64_t daily_at_minutes_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// GET /v1/reports/{daily|retention|cohorts|ab}?from=&through=&experiment=&format=json|csv|table
gateway::HttpResponse HandleReport(const std::string& data_dir, const std::string& kind,
                                   const gateway::HttpRequest& request) {
  auto param = [&](const char* name) {
    auto it = request.query.find(name);
    return it == request.query.end() ? std::string() : it->second;
  };
  std::string format_name = param("format").empty() ? "json" : param("format");
  std::string through = param("through").empty() ? param("to") : param("through");
  gateway::HttpResponse response;
  auto format = batch::ParseReportFormat(format_name);
  Status st = format.status();
  if (st.ok()) {
    auto render = [&](auto result, auto formatter) {
      if (!result.ok()) {
        st = result.status();
        return;
      }
      response.body = formatter(*result, *format);
    };
    if (kind == "daily") render(batch::ReadDailyReport(data_dir, param("from"), through), batch::FormatDailyReport);
    else if (kind == "retention") render(batch::ReadRetention(data_dir, param("from"), through), batch::FormatRetention);
    else if (kind == "cohorts") render(batch::ReadCohorts(data_dir, param("from"), through), batch::FormatCohorts);
    else render(batch::ReadAbResults(data_dir, param("experiment")), batch::FormatAbResults);
  }
  if (!st.ok()) {
    response.status = st.code() == StatusCode::kNotFound ? 404 : st.code() == StatusCode::kInvalidArgument ? 400 : 500;
    response.content_type = "application/json";
    response.body = "{\"error\":";
    event::AppendJsonString(&response.body, StatusCodeName(st.code()));
    response.body += ",\"message\":";
    event::AppendJsonString(&response.body, st.message());
    response.body += "}";
    return response;
  }
  response.content_type = *format == batch::ReportFormat::kJson  ? "application/json"
                          : *format == batch::ReportFormat::kCsv ? "text/csv"
                                                                 : "text/plain";
  return response;
}

// The schema registry's REST API (Confluent's paths) on its own listener: a second gateway
// that serves no /v1/batch, so registry clients get the gateway's key checks (read for
// lookups, admin for changes), limits and drain. `registry` must outlive it.
Result<std::unique_ptr<gateway::Gateway>> StartRegistryListener(const std::string& listen,
                                                                 const gateway::GatewayDeps& deps,
                                                                 schema::Registry& registry) {
  gateway::GatewayOptions options;
  options.serve_batch = false;
  // Admin traffic and client lookups, never the ingest path. A registration waits on the
  // I/O thread for its _schemas append; here that delays only other registry requests.
  options.io_threads = 1;
  options.name = "registry";
  ASSIGN_OR_RETURN(std::unique_ptr<gateway::Gateway> gw, gateway::StartGateway(listen, deps, options));
  gateway::RouteHandler dispatcher = schema::RegistryDispatcher(registry);
  for (std::string_view prefix : schema::kRegistryPathPrefixes) {
    gw->AddPrefixRoute(std::string(prefix),
                       [](std::string_view method, std::string_view path) {
                         return std::string(schema::RegistryScope(method, path));
                       },
                       dispatcher);
  }
  gw->SetReady(true);  // the registry replayed _schemas before this listener opened
  return gw;
}

int Fail(const Status& st) {
  spdlog::error("tidemark serve: {}", st.ToString());
  return 1;
}

}  // namespace

int RunServe(const ServeOptions& options) {
  const Config& config = options.config;
  spdlog::set_level(spdlog::level::from_str(config.GetString("server.log_level")));

  // Block the termination signals before any thread starts, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Status st = CreateDirectories(options.data_dir);
  if (!st.ok()) return Fail(st);
  DataDirLock lock;
  st = lock.Acquire(options.data_dir);
  if (!st.ok()) return Fail(st);

  MetricsRegistry metrics;
  auto log_options = log::EmbeddedLogOptionsFromConfig(config, options.data_dir + "/log");
  log_options.metrics = &metrics;
  std::vector<std::string> recovery_notes;
  auto opened = log::OpenEmbeddedLog(log_options, &recovery_notes);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<log::Log> log = std::move(opened).value();
  st = log::CreateStandardTopics(*log, config);
  if (!st.ok()) return Fail(st);

  // The schema registry's state is the _schemas topic: replayed before any stage that
  // encodes or decodes events starts.
  auto opened_registry = schema::Registry::Open(*log);
  if (!opened_registry.ok()) return Fail(opened_registry.status());
  std::unique_ptr<schema::Registry> registry = std::move(opened_registry).value();

  // Lake: the bronze writer reads the log from its committed offsets on its own thread.
  std::unique_ptr<lake::BronzeWriter> bronze;
  if (config.GetBool("lake.enabled")) {
    auto bronze_options = lake::BronzeWriterOptionsFromConfig(config, options.data_dir + "/lake");
    bronze_options.metrics = &metrics;
    bronze_options.decoder = lake::NewLogEventDecoder(registry.get());
    auto opened_bronze = lake::BronzeWriter::Open(log.get(), std::move(bronze_options));
    if (!opened_bronze.ok()) return Fail(opened_bronze.status());
    bronze = std::move(opened_bronze).value();
    st = bronze->Start();
    if (!st.ok()) return Fail(st);
  }

  auto keys = gateway::KeyStore::Open(options.data_dir, config);
  if (!keys.ok()) return Fail(keys.status());

  // Validation, PII masking and Avro encoding of accepted events (schema.enabled).
  std::unique_ptr<gateway::EventEncoder> encoder;
  if (config.GetBool("schema.enabled")) {
    auto encoder_options = schema::IngestEncoderOptions::FromConfig(config, options.data_dir);
    if (!encoder_options.ok()) return Fail(encoder_options.status());
    auto made = schema::NewIngestEncoder(*registry, std::move(encoder_options).value());
    if (!made.ok()) return Fail(made.status());
    encoder = std::move(made).value();
  }

  gateway::GatewayDeps deps;
  deps.encoder = encoder.get();
  deps.config = &config;
  deps.log = log.get();
  deps.keys = keys->get();
  deps.metrics = &metrics;
  deps.clock = &SystemClock::Instance();
  const std::string& listen = config.GetString("server.listen");
  auto gw = gateway::StartGateway(listen, deps);
  if (!gw.ok()) return Fail(gw.status());
  // An empty server.registry_listen turns the registry's listener off.
  const std::string& registry_listen = config.GetString("server.registry_listen");
  std::unique_ptr<gateway::Gateway> registry_gw;
  if (!registry_listen.empty()) {
    auto started = StartRegistryListener(registry_listen, deps, *registry);
    if (!started.ok()) return Fail(started.status());
    registry_gw = std::move(started).value();
  }

  // The real-time path: one task per partition of user-events and server-events, restored
  // from its checkpoint and replaying the log from there. stream.enabled = false leaves it
  // out (ingest-only runs and benchmarks); the log keeps every record for a later start.
  std::unique_ptr<stream::StreamService> stream_service;
  if (config.GetBool("stream.enabled")) {
    stream_service = std::make_unique<stream::StreamService>(log.get(), options.data_dir, config, &metrics,
                                                             &SystemClock::Instance(), registry.get());
    st = stream_service->Start();
    if (!st.ok()) return Fail(st);
    (*gw)->AddRoute("GET", "/v1/query", "read", [s = stream_service.get()](const gateway::HttpRequest& r) {
      return s->HandleQuery(r);
    });
  } else {
    (*gw)->AddRoute("GET", "/v1/query", "read", [](const gateway::HttpRequest&) {
      gateway::HttpResponse r;
      r.status = 503;
      r.body = R"({"error":"unavailable","message":"stream.enabled is false: this server runs no stream tasks"})";
      return r;
    });
  }

  for (const char* kind : {"daily", "retention", "cohorts", "ab"}) {
    const std::string name = kind;
    (*gw)->AddRoute("GET", "/v1/reports/" + name, "read", [data = options.data_dir, name](const gateway::HttpRequest& r) {
      return HandleReport(data, name, r);
    });
  }

  auto housekeeper = std::make_unique<Housekeeper>(log.get());
  auto batch_scheduler = std::make_unique<BatchScheduler>(options.data_dir, config);
  const std::string host = listen.substr(0, listen.rfind(':'));
  spdlog::info("tidemark serving on http://{}:{} (data {})", host, (*gw)->port(), options.data_dir);
  std::printf("tidemark listening: http://%s:%u\n", host.c_str(), (*gw)->port());
  if (registry_gw) {
    const std::string registry_host = registry_listen.substr(0, registry_listen.rfind(':'));
    std::printf("tidemark registry listening: http://%s:%u\n", registry_host.c_str(), registry_gw->port());
  }
  std::fflush(stdout);

  // Ingestion is open at once (acks only need the log); /readyz turns ready once the stream
  // tasks have replayed the log up to where it ended at start.
  bool ready = false;
  int sig = 0;
  for (;;) {
    if (!ready && (!stream_service || stream_service->ready())) {
      ready = true;
      (*gw)->SetReady(true);
      spdlog::info("recovery and replay finished; ready");
    }
    timespec tick{0, 100 * 1000 * 1000};
    sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) break;
  }
  spdlog::info("received {}, draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*gw)->SetReady(false);
  (*gw)->Stop();          // in-flight requests are answered after their appends are durable
  if (registry_gw) registry_gw->Stop();
  // Lake: the final micro-batch holds everything the log has, then one commit per table.
  if (bronze) {
    st = bronze->Stop();
    if (!st.ok()) spdlog::error("lake bronze writer: final commit failed: {}", st.ToString());
  }
  if (stream_service) {
    st = stream_service->Stop();  // final checkpoint
    if (!st.ok()) spdlog::error("stream: final checkpoint failed: {}", st.ToString());
  }
  batch_scheduler.reset();
  housekeeper.reset();
  log->Close();
  spdlog::info("tidemark stopped cleanly");
  return 0;
}

}  // namespace tidemark::server
