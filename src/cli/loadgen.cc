#include "cli/loadgen.h"

#include <sys/mman.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "cli/http_client.h"
#include "common/clock.h"
#include "common/time_format.h"

namespace tidemark::cli {
namespace {

struct Platform {
  const char* name;
  const char* user_agent;
  const char* device_type;
};

const Platform kPlatforms[] = {
    {"web", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Safari/537.36", "desktop"},
    {"web", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15", "desktop"},
    {"ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "mobile"},
    {"android", "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/124.0.0.0 Mobile Safari/537.36", "mobile"},
    {"server", "tidemark-cpp/0.1", "server"},
};

const char* kWebTypes[] = {"page_view", "page_view", "page_view", "click", "add_to_cart", "purchase", "signup", "experiment_exposure"};
const char* kAppTypes[] = {"screen_view", "screen_view", "app_open", "click", "add_to_cart", "purchase", "experiment_exposure"};
const char* kLocales[] = {"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "pt-BR", "es-ES"};
const char* kVersions[] = {"4.12.0", "4.12.1", "4.13.0", "5.0.0"};
const char* kServices[] = {"checkout-api", "search-api", "auth-service", "catalog-api"};
const char* kRoutes[] = {"/v2/cart", "/v2/search", "/v1/login", "/v2/items/{id}", "/v2/checkout"};

template <typename T, size_t N>
const T& Pick(std::mt19937_64& rng, const T (&arr)[N]) {
  return arr[rng() % N];
}

std::string PropertiesFor(std::string_view type, std::mt19937_64& rng, int64_t user) {
  const uint64_t item = rng() % 100000;
  if (type == "page_view" || type == "screen_view") {
    return fmt::format(
        R"({{"url":"https://shop.example.com/p/{}","referrer":"https://search.example.org/?q=item+{}","title":"Product {} - Example Shop","duration_ms":{}}})",
        item, item % 997, item, 200 + rng() % 30000);
  }
  if (type == "click") {
    return fmt::format(R"({{"element":"button#buy-{}","text":"Add to cart","x":{},"y":{},"duration_ms":{}}})",
                       item, rng() % 1920, rng() % 1080, 50 + rng() % 2000);
  }
  if (type == "add_to_cart") {
    return fmt::format(R"({{"item_id":"sku-{}","quantity":{},"price":{}.{:02},"currency":"USD","list":"recommended"}})",
                       item, 1 + rng() % 3, 5 + rng() % 200, rng() % 100);
  }
  if (type == "purchase") {
    return fmt::format(R"({{"order_id":"o-{}-{}","revenue":{}.{:02},"currency":"USD","items":{},"coupon":"{}"}})",
                       user, item, 10 + rng() % 500, rng() % 100, 1 + rng() % 5,
                       rng() % 4 == 0 ? "SPRING10" : "");
  }
  if (type == "experiment_exposure") {
    return fmt::format(R"({{"experiment":"checkout_button_color","variant":"{}","surface":"product_page"}})",
                       (user % 2) ? "treatment" : "control");
  }
  if (type == "api_request") {
    return fmt::format(R"({{"route":"{}","method":"POST","status":{},"duration_ms":{},"bytes":{}}})",
                       Pick(rng, kRoutes), rng() % 50 == 0 ? 500 : 200, 1 + rng() % 800, 200 + rng() % 50000);
  }
  return fmt::format(R"({{"referrer":"campaign-{}","plan":"free","duration_ms":{}}})", item % 50, rng() % 5000);
}

// One well-formed event; mutated afterwards when it is meant to be invalid.
GeneratedEvent MakeEvent(std::mt19937_64& rng, const LoadgenOptions& o, int64_t index,
                         int64_t ts) {
  GeneratedEvent ev;
  const int64_t user = static_cast<int64_t>(rng() % static_cast<uint64_t>(std::max<int64_t>(o.users, 1)));
  const Platform& p = kPlatforms[user % 5 == 4 && rng() % 2 ? 4 : user % 4];
  const bool server = std::string_view(p.name) == "server";
  const char* type = server ? "api_request"
                     : std::string_view(p.name) == "web" ? Pick(rng, kWebTypes)
                                                         : Pick(rng, kAppTypes);
  ev.event_id = fmt::format("{:016x}-{:08x}", o.seed * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(index), index);
  const int64_t session = ts / 1800000;  // a new session every half hour of event time
  std::string context;
  if (server) {
    context = fmt::format(R"({{"ip":"10.{}.{}.{}","user_agent":"{}","service":"{}","host":"api-{}.internal","locale":"en-US"}})",
                          rng() % 256, rng() % 256, rng() % 256, p.user_agent, Pick(rng, kServices), rng() % 16);
  } else {
    context = fmt::format(R"({{"ip":"203.0.{}.{}","user_agent":"{}","locale":"{}","device_type":"{}","app_version":"{}"}})",
                          rng() % 256, rng() % 256, p.user_agent, Pick(rng, kLocales), p.device_type,
                          Pick(rng, kVersions));
  }
  ev.json = fmt::format(
      R"({{"event_id":"{}","event_type":"{}","timestamp":{},"user_id":"u-{:07}","session_id":"s-{:07}-{}","platform":"{}","context":{},"properties":{}}})",
      ev.event_id, type, ts, user, user, session, p.name, context, PropertiesFor(type, rng, user));
  return ev;
}

void MakeInvalid(GeneratedEvent& ev, std::mt19937_64& rng) {
  ev.invalid = true;
  switch (rng() % 3) {
    case 0: {  // missing_field: no user_id
      auto pos = ev.json.find("\"user_id\":");
      auto end = ev.json.find(',', pos);
      ev.json.erase(pos, end - pos + 1);
      break;
    }
    case 1: {  // invalid_field: timestamp of the wrong type
      auto pos = ev.json.find("\"timestamp\":");
      auto end = ev.json.find(',', pos);
      ev.json.replace(pos, end - pos, "\"timestamp\":\"yesterday\"");
      break;
    }
    default: {  // invalid_field: event_type outside [a-z0-9_.-]
      auto pos = ev.json.find("\"event_type\":\"");
      ev.json.insert(pos + 14, "Bad Type ");
      break;
    }
  }
}

double Percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

// The number after "key": in a small JSON answer.
int64_t JsonNumber(std::string_view body, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":";
  auto pos = body.find(needle);
  if (pos == std::string_view::npos) return 0;
  return std::strtoll(body.data() + pos + needle.size(), nullptr, 10);
}

// Indices listed in the answer's "errors":[{"index":i,…}].
std::vector<int> RejectedIndices(std::string_view body) {
  std::vector<int> out;
  size_t pos = 0;
  while ((pos = body.find("\"index\":", pos)) != std::string_view::npos) {
    pos += 8;
    out.push_back(static_cast<int>(std::strtol(body.data() + pos, nullptr, 10)));
  }
  return out;
}

// One read-only-after-filling block for the request bodies, backed by transparent huge
// pages where the kernel allows (madvise mode); plain pages otherwise.
class BodyArena {
 public:
  explicit BodyArena(size_t bytes) {
    constexpr size_t kHuge = 2 << 20;
    size_ = std::max<size_t>(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      fallback_.resize(bytes);
      base_ = fallback_.data();
      size_ = 0;
      return;
    }
    (void)::madvise(p, size_, MADV_HUGEPAGE);
    base_ = static_cast<char*>(p);
  }
  ~BodyArena() {
    if (size_ > 0) ::munmap(base_, size_);
  }
  BodyArena(const BodyArena&) = delete;
  BodyArena& operator=(const BodyArena&) = delete;

  std::string_view Add(std::string_view bytes) {
    char* at = base_ + used_;
    std::memcpy(at, bytes.data(), bytes.size());
    used_ += bytes.size();
    return {at, bytes.size()};
  }

 private:
  char* base_ = nullptr;
  size_t size_ = 0;  // mapped bytes; 0 when fallback_ holds the bodies
  size_t used_ = 0;
  std::string fallback_;
};

}  // namespace

Result<std::string> CompressBody(std::string_view body, std::string_view codec) {
  if (codec == "none" || codec.empty()) return std::string(body);
  if (codec == "zstd") {
    std::string out(ZSTD_compressBound(body.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), body.data(), body.size(), 1);
    if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  if (codec == "gzip") {
    z_stream zs{};
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      return Status::Internal("deflateInit2 failed");
    }
    std::string out(deflateBound(&zs, body.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
    zs.avail_in = static_cast<uInt>(body.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return Status::Internal("gzip: deflate did not finish");
    return out;
  }
  return Status::InvalidArgument("unknown compression '" + std::string(codec) + "' (none|gzip|zstd)");
}

std::vector<GeneratedEvent> GenerateEvents(const LoadgenOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  const int64_t start = o.start_ms ? o.start_ms : SystemClock::Instance().NowMillis() - o.span_ms;
  std::vector<GeneratedEvent> out;
  out.reserve(static_cast<size_t>(o.events));
  for (int64_t i = 0; static_cast<int64_t>(out.size()) < o.events; ++i) {
    if (!out.empty() && unit(rng) < o.dup_rate) {
      // A retry: the same payload again, a little later in the stream.
      size_t back = std::min<size_t>(out.size(), 1 + rng() % 500);
      GeneratedEvent dup = out[out.size() - back];
      if (!dup.invalid && !dup.duplicate) {
        dup.duplicate = true;
        out.push_back(std::move(dup));
        continue;
      }
    }
    int64_t ts = start + (o.events > 1 ? i * o.span_ms / o.events : 0);
    bool late = unit(rng) < o.late_rate;
    if (late) ts -= 600000 + static_cast<int64_t>(rng() % 9600000);  // 10 min .. 2 h 50 min
    GeneratedEvent ev = MakeEvent(rng, o, i, ts);
    ev.late = late;
    if (unit(rng) < o.invalid_rate) MakeInvalid(ev, rng);
    out.push_back(std::move(ev));
  }
  return out;
}

Result<LoadgenSummary> RunLoadgen(const LoadgenOptions& o) {
  if (o.batch <= 0 || o.connections <= 0) {
    return Status::InvalidArgument("--batch and --connections must be positive");
  }
  std::vector<GeneratedEvent> events = GenerateEvents(o);
  if (!o.out.empty()) {
    std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IOError("cannot write " + o.out);
    for (const auto& e : events) out << e.json << '\n';
  }
  LoadgenSummary summary;
  if (o.url.empty()) {
    summary.events_sent = 0;
    return summary;
  }
  std::string host;
  uint16_t port;
  RETURN_IF_ERROR(ParseHttpUrl(o.url, &host, &port));

  // Pre-build every request body.
  struct Batch {
    std::string_view body;  // in `arena`
    size_t first;
    size_t count;
  };
  std::vector<Batch> batches;
  std::vector<std::string> wires;
  for (size_t i = 0; i < events.size(); i += static_cast<size_t>(o.batch)) {
    size_t n = std::min(events.size() - i, static_cast<size_t>(o.batch));
    std::string body = "{\"batch\":[";
    for (size_t k = 0; k < n; ++k) {
      if (k) body += ',';
      body += events[i + k].json;
    }
    body += "]";
    if (o.sent_at) {
      body += ",\"sent_at\":\"" + FormatRfc3339Millis(SystemClock::Instance().NowMillis()) + "\"";
    }
    body += "}";
    ASSIGN_OR_RETURN(std::string wire, CompressBody(body, o.compression));
    batches.push_back({{}, i, n});
    wires.push_back(std::move(wire));
  }
  // The bodies move into one huge-page-backed block: sending copies every byte of them into
  // the kernel, and over hundreds of MB of 4 KiB pages the page walks (and, on a virtual
  // machine, the shadow page-table faults) cost more than the copy — the generator would
  // take CPU the server under test needs.
  size_t total = 0;
  for (const std::string& w : wires) total += w.size();
  BodyArena arena(total);
  for (size_t b = 0; b < batches.size(); ++b) {
    batches[b].body = arena.Add(wires[b]);
    std::string().swap(wires[b]);
  }

  std::vector<std::pair<std::string, std::string>> headers = {
      {"Authorization", "Bearer " + o.key}, {"Content-Type", "application/json"}};
  if (o.compression != "none") headers.emplace_back("Content-Encoding", o.compression);

  std::atomic<size_t> next{0};
  std::mutex mu;
  std::vector<double> latencies;
  std::FILE* acked = nullptr;
  if (!o.acked_out.empty()) {
    acked = std::fopen(o.acked_out.c_str(), "a");
    if (!acked) return Status::IOError("cannot append to " + o.acked_out);
  }
  if (o.before_send) o.before_send();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&] {
      HttpConnection conn(host, port);
      std::vector<double> local;
      LoadgenSummary s;
      for (;;) {
        if (o.stop && o.stop->load()) break;
        size_t b = next.fetch_add(1);
        if (b >= batches.size()) break;
        const Batch& batch = batches[b];
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.retry_timeout_ms);
        bool done = false;
        while (!done) {
          auto start = std::chrono::steady_clock::now();
          auto r = conn.Request("POST", "/v1/batch", batch.body, headers);
          auto end = std::chrono::steady_clock::now();
          ++s.requests;
          int wait_ms = 100;
          if (r.ok() && r->status == 200) {
            local.push_back(std::chrono::duration<double, std::milli>(end - start).count());
            int64_t acc = JsonNumber(r->body, "accepted");
            s.accepted += acc;
            s.rejected += JsonNumber(r->body, "rejected");
            s.events_sent += static_cast<int64_t>(batch.count);
            if (acked) {
              std::vector<int> rejected = RejectedIndices(r->body);
              std::sort(rejected.begin(), rejected.end());
              std::string lines;
              for (size_t k = 0; k < batch.count; ++k) {
                if (std::binary_search(rejected.begin(), rejected.end(), static_cast<int>(k))) continue;
                lines += events[batch.first + k].event_id;
                lines += '\n';
              }
              std::lock_guard<std::mutex> lock(mu);
              std::fwrite(lines.data(), 1, lines.size(), acked);
              std::fflush(acked);
            }
            done = true;
            break;
          }
          if (r.ok() && r->status != 429 && r->status != 503) {
            // A client error will not get better by retrying.
            s.events_sent += static_cast<int64_t>(batch.count);
            ++s.failed_batches;
            std::lock_guard<std::mutex> lock(mu);
            std::fprintf(stderr, "loadgen: batch %zu answered %d: %.200s\n", b, r->status, r->body.c_str());
            done = true;
            break;
          }
          if (r.ok()) {
            auto ra = r->headers.find("retry-after");
            if (ra != r->headers.end()) wait_ms = std::max(50, std::atoi(ra->second.c_str()) * 1000 / 4);
          }
          if (std::chrono::steady_clock::now() > deadline) {
            s.events_sent += static_cast<int64_t>(batch.count);
            ++s.failed_batches;
            std::lock_guard<std::mutex> lock(mu);
            std::fprintf(stderr, "loadgen: batch %zu gave up: %s\n", b,
                         r.ok() ? std::to_string(r->status).c_str() : r.status().ToString().c_str());
            break;
          }
          ++s.retries;
          std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        }
      }
      timespec cpu{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
      std::lock_guard<std::mutex> lock(mu);
      summary.cpu_seconds += static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) * 1e-9;
      latencies.insert(latencies.end(), local.begin(), local.end());
      summary.events_sent += s.events_sent;
      summary.accepted += s.accepted;
      summary.rejected += s.rejected;
      summary.requests += s.requests;
      summary.retries += s.retries;
      summary.failed_batches += s.failed_batches;
    });
  }
  for (auto& t : threads) t.join();
  if (acked) std::fclose(acked);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  summary.events_per_second = summary.seconds > 0 ? summary.events_sent / summary.seconds : 0;
  std::sort(latencies.begin(), latencies.end());
  summary.p50_ms = Percentile(latencies, 0.50);
  summary.p99_ms = Percentile(latencies, 0.99);
  summary.max_ms = latencies.empty() ? 0 : latencies.back();
  return summary;
}

std::string SummaryText(const LoadgenSummary& s) {
  return fmt::format(
      "events: {} sent, {} accepted, {} rejected; requests {} (retries {}, failed batches {})\n"
      "throughput: {:.0f} events/s over {:.2f} s\n"
      "ack latency: p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms\n"
      "loadgen CPU: {:.2f} s in the sending threads\n",
      s.events_sent, s.accepted, s.rejected, s.requests, s.retries, s.failed_batches,
      s.events_per_second, s.seconds, s.p50_ms, s.p99_ms, s.max_ms, s.cpu_seconds);
}

std::string SummaryJson(const LoadgenSummary& s) {
  return fmt::format(
      R"({{"events_sent":{},"accepted":{},"rejected":{},"requests":{},"retries":{},"failed_batches":{},"seconds":{:.3f},"events_per_second":{:.0f},"p50_ms":{:.3f},"p99_ms":{:.3f},"max_ms":{:.3f},"cpu_seconds":{:.3f}}})",
      s.events_sent, s.accepted, s.rejected, s.requests, s.retries, s.failed_batches, s.seconds,
      s.events_per_second, s.p50_ms, s.p99_ms, s.max_ms, s.cpu_seconds);
}

}  // namespace tidemark::cli
