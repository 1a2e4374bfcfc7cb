// Write keys: each belongs to a source (name, platform) and carries scopes. Keys created by
// `tidemark keys create` are stored as SHA-256 hashes in <data>/keys.json; keys from the
// config file are held in memory. Presented keys are compared in constant time; no key is
// ever logged. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace tidemark::gateway {

struct KeyInfo {
  std::string id;        // short public id ("k_3f2a…"), safe to print
  std::string source;    // source name, stored in each event's `source`
  std::string platform;  // web|ios|android|server: the default platform of its events
  std::vector<std::string> scopes;
  bool revoked = false;
  int64_t created_at_ms = 0;
  bool HasScope(std::string_view scope) const;
};

class KeyStore {
 public:
  // Loads <data_dir>/keys.json (absent means no keys yet) plus the config's [[keys]].
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& data_dir, const Config& config);

  // Creates and persists a key; returns the secret (shown once) and its info.
  Result<std::pair<std::string, KeyInfo>> Create(const std::string& source,
                                                 const std::string& platform,
                                                 const std::vector<std::string>& scopes);
  std::vector<KeyInfo> List() const;
  Status Revoke(const std::string& id);
  // The key's info when the presented secret matches a live key.
  std::optional<KeyInfo> Authenticate(std::string_view presented) const;

 private:
  struct Entry {
    KeyInfo info;
    std::string sha256_hex;  // of the secret; the secret itself is never kept
    bool from_config = false;
  };
  KeyStore() = default;
  // Serialises the persisted (non-config) keys; caller holds mu_.
  std::string RenderKeysJson() const;

  std::string path_;  // <data_dir>/keys.json
  std::string data_dir_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

}  // namespace tidemark::gateway
