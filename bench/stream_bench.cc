// Stream-stage benchmark: replays 1,000,000 loadgen-like events (~460 bytes of JSON, ~5 %
// retried duplicates, ~1.5 % out of order of which a third beyond the allowed lateness)
// through decode, dedup, enrichment, windows and sessions on one thread — the work of one
// partition task, without the log — and prints events/s, dedup state bytes per live id and
// peak RSS. Events are generated before timing starts.
//
//   stream_bench [--events N] [--users N] [--ids uuid|loadgen] [--repeat N] [--format avro|json]
//
// --format avro (default) encodes the events as the gateway writes them into the log:
// Confluent-framed Avro through the registry's ingest encoder, one typed schema per event
// type; --format json gives the canonical JSON of schema.enabled = false.
//
// --repeat N runs the timed part N times (a fresh processor each time) and reports the
// median. Decode-only and decode+dedup passes over the same records follow, so the cost of
// the value format shows apart from the operators' own.
//
// --ids loadgen (default) gives events the load generator's "<16 hex>-<8 hex>" ids, as
// src/cli/loadgen.cc makes them; --ids uuid gives UUID v4 ids, as browser and mobile SDKs
// send them. Both shapes are packed exactly into the dedup slot.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/hashing.h"
#include "event/event.h"
#include "event/event_parser.h"
#include "gateway/event_encoder.h"
#include "log/log.h"
#include "log/memory_log.h"
#include "schema/ingest_encoder.h"
#include "schema/registry.h"
#include "stream/partition_processor.h"

namespace {

using tidemark::stream::PartitionProcessor;
using tidemark::stream::RowKind;
using tidemark::stream::WindowAggregate;

struct Profile {
  const char* platform;
  const char* user_agent;
  const char* device_type;
};
const Profile kProfiles[] = {
    {"web", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "desktop"},
    {"web", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", "desktop"},
    {"ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "mobile"},
    {"android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", "mobile"},
};
const char* kTypes[] = {"page_view", "page_view", "screen_view", "click", "add_to_cart", "purchase", "experiment_exposure"};

// The bench's event types as a typed schema: the envelope, context (ip masked) and the
// properties both shapes of event carry.
constexpr const char* kBenchSchema = R"({"type":"record","name":"BenchEvent","namespace":"tidemark.bench","fields":[
{"name":"event_id","type":"string"},{"name":"event_type","type":"string"},
{"name":"timestamp","type":{"type":"long","logicalType":"timestamp-millis"}},
{"name":"user_id","type":["null","string"],"default":null},
{"name":"session_id","type":["null","string"],"default":null},
{"name":"platform","type":["null","string"],"default":null},
{"name":"context","default":{},"type":{"type":"record","name":"Context","fields":[
 {"name":"ip","type":["null","string"],"default":null,"pii":"truncate_ip"},
 {"name":"user_agent","type":["null","string"],"default":null},
 {"name":"locale","type":["null","string"],"default":null},
 {"name":"device_type","type":["null","string"],"default":null},
 {"name":"app_version","type":["null","string"],"default":null}]}},
{"name":"properties","default":{},"type":{"type":"record","name":"Properties","fields":[
 {"name":"url","type":["null","string"],"default":null},
 {"name":"duration_ms","type":["null","long"],"default":null},
 {"name":"order_id","type":["null","string"],"default":null},
 {"name":"revenue","type":["null","double"],"default":null},
 {"name":"items","type":["null","int"],"default":null}]}}]})";
const char* kVersions[] = {"4.12.0", "4.12.1", "4.13.0", "5.0.0"};
const char* kLocales[] = {"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP"};

class NullSink final : public tidemark::stream::RowSink {
 public:
  void Upsert(std::string_view, RowKind, int64_t, std::string_view, const WindowAggregate& v) override {
    ++rows;
    events += v.events;
  }
  tidemark::Status Flush(std::string_view) override { return tidemark::Status::Ok(); }
  uint64_t rows = 0, events = 0;
};

double PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux reports KiB
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string Uuid(std::mt19937_64& rng) {
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x4000;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48,
                     b & 0xffffffffffffULL);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = 1'000'000, users = 50'000;
  std::string ids = "loadgen";
  std::string format = "avro";
  int repeat = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--events")) n = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--users")) users = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--ids")) ids = argv[i + 1];
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--format")) format = argv[i + 1];
  }
  if (format != "avro" && format != "json") {
    fmt::print(stderr, "--format must be avro (as the gateway writes by default) or json\n");
    return 2;
  }
  // Avro values as the gateway writes them: each type registered with a typed schema
  // (context.ip masked), events encoded by the registry's ingest encoder.
  std::unique_ptr<tidemark::log::Log> schema_log = tidemark::log::NewMemoryLog();
  std::unique_ptr<tidemark::schema::Registry> registry;
  std::unique_ptr<tidemark::gateway::EventEncoder> encoder;
  if (format == "avro") {
    registry = tidemark::schema::Registry::Open(*schema_log).value();
    for (const char* type : kTypes) {
      auto registered = registry->Register(std::string(type) + "-value", kBenchSchema);
      if (!registered.ok()) {
        fmt::print(stderr, "register {}: {}\n", type, registered.status().ToString());
        return 1;
      }
    }
    tidemark::schema::IngestEncoderOptions encoder_options;
    encoder_options.pii_hash_secret = "bench";
    encoder = tidemark::schema::NewIngestEncoder(*registry, encoder_options).value();
  }
  simdjson::dom::parser json_parser;
  tidemark::event::JsonBuffer scratch;

  // ---- generate (not timed) ----
  std::mt19937_64 rng(1);
  const int64_t t0 = 1'775'800'800'000;
  const int64_t span = 600'000;  // ten minutes of event time, as the load generator
  std::vector<tidemark::log::StoredRecord> records;
  records.reserve(static_cast<size_t>(n));
  size_t bytes = 0;
  int64_t dups = 0, out_of_order = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t now = t0 + span * i / n;
    if (i > 1000 && rng() % 100 < 5) {  // a retry of a recent event, received again now
      const auto& orig = records[records.size() - 1 - rng() % 1000];
      records.push_back({i, now + 1500, orig.key, orig.value, orig.headers});
      bytes += orig.value.size();
      ++dups;
      continue;
    }
    tidemark::event::Event e;
    const int64_t user = static_cast<int64_t>(rng() % static_cast<uint64_t>(users));
    const Profile& p = kProfiles[user % 4];
    e.event_id = ids == "uuid" ? Uuid(rng) : fmt::format("{:016x}-{:08x}", 0x9E3779B97F4A7C15ULL ^ i, i);
    e.event_type = kTypes[rng() % 7];
    e.timestamp_ms = now - static_cast<int64_t>(rng() % 2000);
    uint64_t roll = rng() % 1000;
    if (roll < 5) {
      e.timestamp_ms -= 3 * 3600'000;  // hours late: beyond the allowed lateness
      ++out_of_order;
    } else if (roll < 15) {
      e.timestamp_ms -= 600'000 + static_cast<int64_t>(rng() % 3000'000);  // within it
      ++out_of_order;
    }
    e.event_time_ms = e.timestamp_ms;
    e.received_at_ms = now;
    e.user_id = fmt::format("u-{:07}", user);
    e.session_id = fmt::format("s-{:07}-{}", user, e.timestamp_ms / 1800'000);
    e.platform = p.platform;
    e.source = fmt::format("{}-app", p.platform);
    e.context_json = fmt::format(
        R"({{"ip":"203.0.{}.{}","user_agent":"{}","locale":"{}","device_type":"{}","app_version":"{}"}})",
        rng() % 256, rng() % 256, p.user_agent, kLocales[rng() % 5], p.device_type, kVersions[rng() % 4]);
    const uint64_t item = rng() % 100000;
    if (std::string_view(e.event_type) == "purchase") {
      e.properties_json = fmt::format(R"({{"order_id":"o-{}","revenue":{}.{:02},"items":{}}})", item,
                                      10 + rng() % 500, rng() % 100, 1 + rng() % 5);
    } else {
      e.properties_json = fmt::format(
          R"({{"url":"https://shop.example.com/p/{}","duration_ms":{}}})", item, 200 + rng() % 30000);
    }
    std::string json = tidemark::event::EventToJson(e);
    if (encoder) {
      tidemark::log::Record record{e.user_id, {}, now};
      simdjson::dom::element raw = json_parser.parse(json).value();
      tidemark::event::IngestContext ctx;
      ctx.received_at_ms = now;
      ctx.source = e.source;
      ctx.default_platform = e.platform;
      scratch.Clear();
      tidemark::event::NormalizeOutcome checked =
          tidemark::event::NormalizeEvent(raw, ctx, tidemark::event::EventLimits{}, &scratch);
      std::optional<tidemark::event::EventError> error =
          checked.ok() ? encoder->Encode({raw, &checked, e.source, {}, false}, &record) : checked.error;
      if (error) {
        fmt::print(stderr, "encode: {}\n", error->message);
        return 1;
      }
      bytes += record.value.size();
      records.push_back({i, now, std::move(record.key), std::move(record.value), std::move(record.headers)});
      continue;
    }
    bytes += json.size();
    records.push_back({i, now, e.user_id, std::move(json)});
  }
  const double input_rss = PeakRssMiB();
  if (std::getenv("STREAM_BENCH_PAUSE")) {  // lets a profiler attach to the timed part only
    fmt::print(stderr, "generated; pid {} pausing 3 s\n", getpid());
    std::this_thread::sleep_for(std::chrono::seconds(3));
  }

  // ---- process (timed) ----
  tidemark::stream::ProcessorOptions options;  // defaults: 1 h dedup TTL, 2 h lateness, 30 min gap
  options.dedup_expected_keys = n;              // the whole run fits in the 1 h TTL
  NullSink sink;
  uint64_t outcome[6] = {};
  size_t late_records = 0;
  std::unique_ptr<PartitionProcessor> processor;
  // The machine may be shared: thread CPU time says what this thread itself spent. Each
  // repeat starts from a fresh processor; the median is the figure reported.
  std::vector<double> full_cpu;
  double seconds = 0;
  for (int rep = 0; rep < repeat; ++rep) {
    processor.reset();
    processor = std::make_unique<PartitionProcessor>(options, "user-events", 0, PartitionProcessor::Mode::kEvents,
                                                     tidemark::stream::NewLogEventDecoder(registry.get(), options.numeric_properties));
    sink = NullSink();
    std::fill(std::begin(outcome), std::end(outcome), 0);
    const double cpu_start = ThreadCpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < records.size(); ++i) {
      if (i + 2 < records.size()) processor->Prefetch(records[i + 2]);  // as the partition task does
      ++outcome[static_cast<int>(processor->Process(records[i]))];
      if ((i & 0x3ffff) == 0x3ffff) processor->Emit(&sink);  // early results along the way
    }
    processor->Emit(&sink);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    full_cpu.push_back(ThreadCpuSeconds() - cpu_start);
    late_records = processor->TakeLateRecords().size();
  }
  const double cpu_seconds = Median(full_cpu);
  const double peak_rss = PeakRssMiB();  // before the breakdown passes add their own state
  // A digest of the final checkpoint state: optimisations must leave it unchanged.
  std::string state;
  processor->AppendState(&state);
  const uint64_t state_digest = tidemark::Hash64(state);

  // ---- stage breakdown (timed separately) ----
  // Decoding alone, then decoding plus dedup (with the same look-ahead prefetch), each over
  // the same records; the rest of the full run is enrichment, windows and sessions. Passes
  // are not perfectly additive (they share caches differently), but they show how much of
  // the total the value format costs and how much the operators do.
  std::vector<double> decode_cpu, dedup_cpu;
  for (int rep = 0; rep < repeat; ++rep) {
    auto decoder = tidemark::stream::NewLogEventDecoder(registry.get(), options.numeric_properties);
    tidemark::stream::StreamEvent event;
    uint64_t decoded = 0;
    double cpu_start = ThreadCpuSeconds();
    for (const auto& r : records) decoded += decoder->Decode(r, &event).ok();
    decode_cpu.push_back(ThreadCpuSeconds() - cpu_start);
    if (decoded != records.size()) fmt::print(stderr, "decode-only pass: {} undecodable\n", records.size() - decoded);

    tidemark::stream::DedupFilter dedup(tidemark::stream::DedupFilter::Options{
        options.dedup_ttl_ms, options.dedup_max_keys, nullptr, options.dedup_expected_keys});
    std::string ahead[3];  // ids of records i .. i+2: decoded two records ahead, as Prefetch runs
    cpu_start = ThreadCpuSeconds();
    for (size_t i = 0; i < records.size() + 2; ++i) {
      if (i < records.size() && decoder->Decode(records[i], &event).ok()) {
        ahead[i % 3].assign(event.event_id);
        dedup.Prefetch(ahead[i % 3]);
      }
      if (i >= 2) (void)dedup.CheckAndInsert(ahead[(i - 2) % 3], records[i - 2].timestamp_ms);
    }
    dedup_cpu.push_back(ThreadCpuSeconds() - cpu_start);
  }
  const double decode_seconds = Median(decode_cpu);
  const double dedup_seconds = std::max(0.0, Median(dedup_cpu) - decode_seconds);
  const double rest_seconds = std::max(0.0, cpu_seconds - decode_seconds - dedup_seconds);

  fmt::print("stream_bench: {} events ({} ids), {:.0f} bytes/event avg, {} retries, {} out of order\n",
             records.size(), ids, static_cast<double>(bytes) / static_cast<double>(records.size()), dups,
             out_of_order);
  fmt::print("  outcomes: on_time {} late {} duplicate {} undecodable {} backpressure {}\n", outcome[0],
             outcome[1], outcome[2], outcome[3], outcome[5]);
  fmt::print("  late side output records: {}; rows upserted: {}; state {} bytes, digest {:016x}\n", late_records,
             sink.rows, state.size(), state_digest);
  const double events = static_cast<double>(records.size());
  fmt::print("  throughput: {:.0f} events/s on one thread ({:.3f} s wall); {:.0f} events per CPU-second ({:.3f} s CPU)\n",
             events / seconds, seconds, events / cpu_seconds, cpu_seconds);
  if (repeat > 1) fmt::print("  CPU-s of the {} runs: {:.3f}; median above\n", repeat, fmt::join(full_cpu, ", "));
  auto share = [&](double s) { return 100.0 * s / cpu_seconds; };
  fmt::print("  stages (CPU-s, separate passes): decode {:.3f} ({:.0f}%), dedup {:.3f} ({:.0f}%), "
             "enrichment + windows + sessions {:.3f} ({:.0f}%)\n",
             decode_seconds, share(decode_seconds), dedup_seconds, share(dedup_seconds), rest_seconds,
             share(rest_seconds));
  fmt::print("  operators without decode: {:.0f} events per CPU-second\n",
             events / std::max(1e-9, cpu_seconds - decode_seconds));
  fmt::print("  dedup: {} live ids, {:.1f} bytes per live id\n", processor->dedup().size(),
             processor->dedup().BytesPerKey());
  fmt::print("  open window cells {}, open sessions {}, operator state ~{:.1f} MiB\n", processor->open_window_cells(),
             processor->open_sessions(), static_cast<double>(processor->StateBytesEstimate()) / (1 << 20));
  fmt::print("  peak RSS {:.0f} MiB (of which ~{:.0f} MiB is the pre-generated input)\n", peak_rss, input_rss);
  return 0;
}
