// Batch benchmark: generates N realistic events for one day into bronze, then times
// tidemark's silver + all gold tables (RunBatch) and DuckDB (2 threads) doing the same work in
// SQL over the same bronze files (tests/batch/bench_duckdb.mjs), and prints both and the ratio.
// Usage: batch_bench [events=1000000] [threads=2]. Needs tests/node/node_modules for DuckDB.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "batch/batch.h"
#include "batch/event_generator_internal.h"
#include "lake/table.h"

namespace {

std::string FilesJson(const std::string& dir, const std::string& name) {
  auto t = tidemark::lake::Table::Open(dir + "/lake", "bronze", name);
  if (!t.ok()) return "[]";
  std::string out = "[";
  for (const auto& f : (*t)->current().files)
    out += (out.size() > 1 ? ",\"" : "\"") + (*t)->directory() + "/" + f.path + "\"";
  return out + "]";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tidemark;
  const int64_t events = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  std::string tmpl = (std::filesystem::temp_directory_path() / "batch_bench_XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return 1;
  const std::string dir = tmpl;

  batch::testing::GeneratorOptions gen;
  gen.events = events;
  gen.days = 1;
  gen.late_share = 0.01;
  gen.seed = 3;
  auto t0 = std::chrono::steady_clock::now();
  auto written = batch::testing::WriteBronze(dir, gen);
  if (!written.ok()) {
    std::fprintf(stderr, "bronze: %s\n", written.status().ToString().c_str());
    return 1;
  }
  const double gen_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("bronze: %lld rows (%lld unique user events + duplicates + server events) in %.2f s\n",
              static_cast<long long>(*written), static_cast<long long>(events), gen_s);

  batch::BatchOptions options;
  options.threads = threads;
  batch::BatchRunStats stats;
  t0 = std::chrono::steady_clock::now();
  const Status s = batch::RunBatch(dir, "2026-04-10", "2026-04-11", options, &stats);
  const double ours = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!s.ok()) {
    std::fprintf(stderr, "batch: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("tidemark: %.3f s (silver %.3f s: %lld rows, %lld duplicates, %lld sessions; gold %.3f s)\n",
              ours, stats.silver_seconds, static_cast<long long>(stats.silver_rows),
              static_cast<long long>(stats.duplicates), static_cast<long long>(stats.sessions),
              stats.gold_seconds);

  const std::string spec = dir + "/spec.json";
  std::ofstream(spec) << "{\"user_files\":" << FilesJson(dir, "user_events")
                      << ",\"server_files\":" << FilesJson(dir, "server_events")
                      << ",\"deleted_users\":[],\"session_gap_ms\":" << options.session_gap_ms
                      << ",\"conversion_event\":\"" << options.conversion_event
                      << "\",\"conversion_window_ms\":" << options.conversion_window_ms
                      << ",\"retention_days\":" << options.retention_days << "}";
  std::filesystem::create_directories(dir + "/duckdb_out");
  const std::string command = std::string("node ") + TIDEMARK_SOURCE_DIR +
                              "/tests/batch/bench_duckdb.mjs " + spec + " " + dir + "/duckdb_out";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buf[4096];
  while (pipe && std::fgets(buf, sizeof buf, pipe)) output += buf;
  const int rc = pipe ? ::pclose(pipe) : -1;
  double duck = 0;
  if (rc != 0 || std::sscanf(output.c_str(), "duckdb_seconds %lf", &duck) != 1) {
    std::fprintf(stderr, "DuckDB side failed (rc %d): %s\n", rc, output.c_str());
  } else {
    std::printf("duckdb (2 threads): %.3f s\nratio tidemark/duckdb: %.2f (target <= 1.5)\n", duck,
                ours / duck);
  }
  if (std::getenv("TIDEMARK_KEEP_TMP") == nullptr) std::filesystem::remove_all(dir);
  return 0;
}
