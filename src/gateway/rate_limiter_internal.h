// Per-key token buckets on events (gateway.rate_limit_events_per_second / _burst). A batch
// takes as many tokens as it has events. A batch larger than the burst is admitted when
// the bucket is full and leaves it in debt, so big batches are slowed, not refused forever.
// Thread-safe; the lock is held only for the arithmetic.
#pragma once

#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tidemark::gateway::internal {

class EventRateLimiter {
 public:
  // rate <= 0 disables limiting; burst <= 0 means twice the rate.
  EventRateLimiter(double events_per_second, double burst)
      : rate_(events_per_second), burst_(burst > 0 ? burst : 2 * events_per_second) {}

  bool enabled() const { return rate_ > 0; }

  // Takes n tokens from key's bucket. Returns 0 when admitted, else the seconds to wait
  // (at least 1) before the batch would be admitted.
  int64_t TryTake(const std::string& key, double n, int64_t now_ms) {
    if (!enabled()) return 0;
    std::lock_guard<std::mutex> lock(mu_);
    Bucket& b = Refill(key, now_ms);
    double need = std::min(n, burst_);
    if (b.tokens >= need) {
      b.tokens -= n;
      return 0;
    }
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((need - b.tokens) / rate_)));
  }

  // Seconds until key's bucket holds any token; 0 when it has some now.
  int64_t WaitForAny(const std::string& key, int64_t now_ms) {
    if (!enabled()) return 0;
    std::lock_guard<std::mutex> lock(mu_);
    Bucket& b = Refill(key, now_ms);
    if (b.tokens > 0) return 0;
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1 - b.tokens) / rate_)));
  }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  Bucket& Refill(const std::string& key, int64_t now_ms) {
    auto [it, inserted] = buckets_.try_emplace(key);
    Bucket& b = it->second;
    if (inserted) {
      b.tokens = burst_;
    } else if (now_ms > b.last_ms) {
      b.tokens = std::min(burst_, b.tokens + (now_ms - b.last_ms) * rate_ / 1000.0);
    }
    if (now_ms > b.last_ms || inserted) b.last_ms = now_ms;
    return b;
  }

  const double rate_;
  const double burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace tidemark::gateway::internal
