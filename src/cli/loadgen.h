// The load generator: realistic synthetic events (web, ios, android and server sources,
// ~460 bytes each, sessions, retried duplicates, late arrivals, invalid events) sent as
// batches over keep-alive connections, reporting events/s and ack latency. Events are
// generated before timing starts, so the figures measure the server, not the generator.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace tidemark::cli {

struct LoadgenOptions {
  std::string url;                // empty: only generate (with --out)
  std::string key;
  int64_t events = 100000;
  int batch = 100;
  int connections = 4;
  double dup_rate = 0;            // share of events that are a retry of an earlier one
  double late_rate = 0;           // share of events timed 10 min – 3 h before their neighbours
  double invalid_rate = 0;        // share of events that break the envelope rules
  uint64_t seed = 1;
  int64_t users = 50000;
  int64_t start_ms = 0;           // event time of the first event; 0 = now − span
  int64_t span_ms = 600000;       // event times spread over this span
  bool sent_at = false;           // add sent_at to each batch
  std::string compression = "none";  // none|gzip|zstd request bodies
  std::string out;                // write the events as JSON lines here
  std::string acked_out;          // append event_ids of acknowledged events here
  int64_t retry_timeout_ms = 30000;  // keep retrying 429/503/connection errors this long per batch
  bool json = false;              // print a JSON summary line
  // When set and true, connections stop taking new batches (tests that run load until told).
  const std::atomic<bool>* stop = nullptr;
  // When set, called once every request body is built, just before the connections start
  // (benchmarks sample the server's CPU counters here).
  std::function<void()> before_send;
};

struct GeneratedEvent {
  std::string json;
  std::string event_id;
  bool invalid = false;
  bool duplicate = false;
  bool late = false;
};

// Deterministic for a given seed.
std::vector<GeneratedEvent> GenerateEvents(const LoadgenOptions& options);

struct LoadgenSummary {
  int64_t events_sent = 0;
  int64_t accepted = 0;
  int64_t rejected = 0;
  int64_t requests = 0;
  int64_t retries = 0;
  int64_t failed_batches = 0;     // gave up after retry_timeout_ms
  double seconds = 0;
  double events_per_second = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double cpu_seconds = 0;         // CPU time of the sending threads (user + system)
};

Result<LoadgenSummary> RunLoadgen(const LoadgenOptions& options);
std::string SummaryText(const LoadgenSummary& s);
std::string SummaryJson(const LoadgenSummary& s);

// Gzip or zstd compression of a request body ("none" returns it unchanged).
Result<std::string> CompressBody(std::string_view body, std::string_view codec);

}  // namespace tidemark::cli
