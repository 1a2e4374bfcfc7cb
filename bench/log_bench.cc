// The embedded log's write path alone, shaped like the gateway's bulk ingest: producer
// threads each build a "request" of records spread by key over the partitions, append one
// batch per partition, wait for every callback (durable, fdatasync'd) and go again. Prints
// records/s and the CPU microseconds per record of the log writer thread (tm-log-writer)
// and of the producers, so the writer's cost per record can be compared before and after a
// change in the same sitting, with the number of fdatasyncs and the mean time from Append to
// durable: `log_bench [--records N] [--producers P] [--request R] [--partitions K]
// [--value-bytes B] [--sync-threads T] [--dir DIR] [--no-fsync]`.
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/hashing.h"
#include "common/metrics.h"
#include "log/embedded_log.h"

namespace {

namespace fs = std::filesystem;
using tidemark::log::Record;

// CPU seconds of this process's threads named `name`, from /proc/self/task/*/schedstat.
double ThreadGroupCpu(const std::string& name) {
  double total = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm_file(entry.path() / "comm");
    std::string comm;
    std::getline(comm_file, comm);
    if (comm != name) continue;
    std::ifstream sched(entry.path() / "schedstat");
    double ns = 0;
    if (sched >> ns) total += ns * 1e-9;
  }
  return total;
}

double ThreadCpu() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t records = 1000000;
  int producers = 4;
  int request = 1000;
  int partitions = 8;
  size_t value_bytes = 460;
  bool fsync = true;
  int sync_threads = tidemark::log::EmbeddedLogOptions().sync_threads;
  std::string dir = (fs::temp_directory_path() / ("tidemark-log-bench-" + std::to_string(getpid()))).string();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : "0"); };
    if (a == "--records") records = std::stoll(next());
    else if (a == "--producers") producers = std::stoi(next());
    else if (a == "--request") request = std::stoi(next());
    else if (a == "--partitions") partitions = std::stoi(next());
    else if (a == "--value-bytes") value_bytes = std::stoul(next());
    else if (a == "--sync-threads") sync_threads = std::stoi(next());
    else if (a == "--dir") dir = next() + "/log-bench-" + std::to_string(getpid());
    else if (a == "--no-fsync") fsync = false;
    else {
      std::fprintf(stderr,
                   "usage: log_bench [--records N] [--producers P] [--request R] [--partitions K] "
                   "[--value-bytes B] [--sync-threads T] [--dir DIR] [--no-fsync]\n");
      return 2;
    }
  }
  fs::remove_all(dir);
  tidemark::log::EmbeddedLogOptions options;
  options.dir = dir;
  options.fsync = fsync;
  options.sync_threads = sync_threads;
  tidemark::MetricsRegistry metrics;
  options.metrics = &metrics;
  auto opened = tidemark::log::OpenEmbeddedLog(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<tidemark::log::Log> log = std::move(opened).value();
  if (auto st = log->CreateTopic("bench", partitions); !st.ok()) {
    std::fprintf(stderr, "create topic: %s\n", st.ToString().c_str());
    return 1;
  }

  // A JSON-ish value template; each record varies a few bytes so nothing is trivially equal.
  std::string value_template(value_bytes, 'x');
  for (size_t k = 0; k < value_template.size(); ++k) value_template[k] = static_cast<char>('a' + (k * 7) % 26);

  std::atomic<int64_t> next_request{0};
  std::atomic<int64_t> failures{0};
  const int64_t requests = (records + request - 1) / request;
  std::vector<double> producer_cpu(static_cast<size_t>(producers));
  // The writer and its sync helpers.
  const double writer_before = ThreadGroupCpu("tm-log-writer") + ThreadGroupCpu("tm-log-sync");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      std::mt19937_64 rng(static_cast<uint64_t>(p) + 1);
      std::mutex mu;
      std::condition_variable cv;
      for (int64_t r; (r = next_request.fetch_add(1)) < requests;) {
        std::vector<std::vector<Record>> by_partition(static_cast<size_t>(partitions));
        for (int k = 0; k < request; ++k) {
          char key[32];
          int n = std::snprintf(key, sizeof key, "u-%07llu", static_cast<unsigned long long>(rng() % 50000));
          std::string_view key_view(key, static_cast<size_t>(n));
          int partition = static_cast<int>((static_cast<uint32_t>(tidemark::Murmur2(key_view)) & 0x7fffffff) %
                                           static_cast<uint32_t>(partitions));
          std::string value = value_template;
          std::memcpy(value.data(), &r, sizeof r);
          std::memcpy(value.data() + 8, &k, sizeof k);
          by_partition[static_cast<size_t>(partition)].push_back(
              Record{std::string(key_view), std::move(value), 1700000000000 + r, {}});
        }
        int pending = 0;
        for (const auto& v : by_partition) pending += v.empty() ? 0 : 1;
        for (int part = 0; part < partitions; ++part) {
          auto& v = by_partition[static_cast<size_t>(part)];
          if (v.empty()) continue;
          log->Append("bench", part, std::move(v), [&](tidemark::Result<int64_t> offset) {
            if (!offset.ok()) ++failures;
            std::lock_guard<std::mutex> lock(mu);
            if (--pending == 0) cv.notify_one();
          });
        }
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return pending == 0; });
      }
      producer_cpu[static_cast<size_t>(p)] = ThreadCpu();
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double writer = ThreadGroupCpu("tm-log-writer") + ThreadGroupCpu("tm-log-sync") - writer_before;
  double producer_total = 0;
  for (double c : producer_cpu) producer_total += c;
  const double n = static_cast<double>(requests * request);
  tidemark::Histogram& fsyncs = metrics.GetHistogram("tidemark_log_fsync_seconds", "", tidemark::LatencyBuckets());
  tidemark::Histogram& appends = metrics.GetHistogram("tidemark_log_append_seconds", "", tidemark::LatencyBuckets());
  std::printf(
      "log_bench: %.0f records of %zu bytes, %d producers x %d-record requests over %d partitions, fsync %s, "
      "%d writer threads\n"
      "  %.0f records/s; CPU per record: writer %.3f us, producers %.3f us; %lld failed appends\n"
      "  %llu fdatasyncs (mean %.2f ms); append to durable: mean %.2f ms\n",
      n, value_bytes, producers, request, partitions, fsync ? "on" : "off", sync_threads, n / seconds,
      writer / n * 1e6, producer_total / n * 1e6, static_cast<long long>(failures.load()),
      static_cast<unsigned long long>(fsyncs.Count()), fsyncs.Count() > 0 ? fsyncs.Sum() / fsyncs.Count() * 1e3 : 0,
      appends.Count() > 0 ? appends.Sum() / appends.Count() * 1e3 : 0);
  log->Close();
  log.reset();
  fs::remove_all(dir);
  return failures.load() == 0 ? 0 : 1;
}
