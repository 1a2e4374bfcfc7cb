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

#include "common/clock.h"
#include "common/files.h"
#include "common/metrics.h"
#include "gateway/gateway.h"
#include "gateway/key_store.h"
#include "lake/bronze_writer.h"
#include "log/embedded_log.h"

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

  // Lake: the bronze writer reads the log from its committed offsets on its own thread.
  std::unique_ptr<lake::BronzeWriter> bronze;
  if (config.GetBool("lake.enabled")) {
    auto bronze_options = lake::BronzeWriterOptionsFromConfig(config, options.data_dir + "/lake");
    bronze_options.metrics = &metrics;
    auto opened_bronze = lake::BronzeWriter::Open(log.get(), std::move(bronze_options));
    if (!opened_bronze.ok()) return Fail(opened_bronze.status());
    bronze = std::move(opened_bronze).value();
    st = bronze->Start();
    if (!st.ok()) return Fail(st);
  }

  auto keys = gateway::KeyStore::Open(options.data_dir, config);
  if (!keys.ok()) return Fail(keys.status());

  gateway::GatewayDeps deps;
  deps.config = &config;
  deps.log = log.get();
  deps.keys = keys->get();
  deps.metrics = &metrics;
  deps.clock = &SystemClock::Instance();
  const std::string& listen = config.GetString("server.listen");
  auto gw = gateway::StartGateway(listen, deps);
  if (!gw.ok()) return Fail(gw.status());

  auto housekeeper = std::make_unique<Housekeeper>(log.get());
  (*gw)->SetReady(true);
  const std::string host = listen.substr(0, listen.rfind(':'));
  spdlog::info("tidemark serving on http://{}:{} (data {})", host, (*gw)->port(), options.data_dir);
  std::printf("tidemark ready: http://%s:%u\n", host.c_str(), (*gw)->port());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*gw)->SetReady(false);
  (*gw)->Stop();          // in-flight requests are answered after their appends are durable
  // Lake: the final micro-batch holds everything the log has, then one commit per table.
  if (bronze) {
    st = bronze->Stop();
    if (!st.ok()) spdlog::error("lake bronze writer: final commit failed: {}", st.ToString());
  }
  housekeeper.reset();
  log->Close();
  spdlog::info("tidemark stopped cleanly");
  return 0;
}

}  // namespace tidemark::server
