#include "common/fault_points.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <set>
#include <sstream>

namespace tidemark {
namespace {

struct FaultRegistry {
  std::mutex mu;
  std::set<std::string, std::less<>> armed;
  std::atomic<bool> any{false};

  FaultRegistry() {
    if (const char* env = std::getenv("TIDEMARK_FAULTS")) {
      std::stringstream ss(env);
      std::string name;
      while (std::getline(ss, name, ',')) {
        if (!name.empty()) armed.insert(name);
      }
      any = !armed.empty();
    }
  }
};

FaultRegistry& Registry() {
  static FaultRegistry registry;
  return registry;
}

}  // namespace

bool FaultArmed(std::string_view name) {
  auto& r = Registry();
  if (!r.any.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(r.mu);
  return r.armed.find(name) != r.armed.end();
}

void ArmFault(std::string name) {
  auto& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.armed.insert(std::move(name));
  r.any = true;
}

void DisarmFault(std::string_view name) {
  auto& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.armed.find(name);
  if (it != r.armed.end()) r.armed.erase(it);
  r.any = !r.armed.empty();
}

void DisarmAllFaults() {
  auto& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.armed.clear();
  r.any = false;
}

}  // namespace tidemark
