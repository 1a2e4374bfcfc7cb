#include "gateway/key_store.h"

#include <openssl/rand.h>

#include <algorithm>

#include <simdjson.h>

#include "common/clock.h"
#include "common/files.h"
#include "common/hashing.h"
#include "common/time_format.h"
#include "event/json_writer.h"

namespace tidemark::gateway {
namespace {

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// n characters of base62 from OpenSSL's CSPRNG, without modulo bias (bytes >= 248 are
// redrawn).
Result<std::string> RandomBase62(size_t n) {
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    if (RAND_bytes(buf, sizeof buf) != 1) return Status::Internal("RAND_bytes failed: no entropy");
    for (unsigned char b : buf) {
      if (b >= 248) continue;
      out.push_back(kBase62[b % 62]);
      if (out.size() == n) break;
    }
  }
  return out;
}

bool IsKnownScope(std::string_view s) { return s == "write" || s == "read" || s == "admin"; }

Status CheckKeyShape(const std::string& source, const std::string& platform,
                     const std::vector<std::string>& scopes) {
  if (source.empty()) return Status::InvalidArgument("key source must not be empty");
  if (platform != "web" && platform != "ios" && platform != "android" && platform != "server") {
    return Status::InvalidArgument("key platform '" + platform + "' is not one of web, ios, android, server");
  }
  if (scopes.empty()) return Status::InvalidArgument("a key needs at least one scope (write, read, admin)");
  for (const auto& s : scopes) {
    if (!IsKnownScope(s)) return Status::InvalidArgument("unknown scope '" + s + "' (write, read, admin)");
  }
  return Status::Ok();
}

}  // namespace

bool KeyInfo::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& data_dir, const Config& config) {
  std::unique_ptr<KeyStore> store(new KeyStore());
  store->data_dir_ = data_dir;
  store->path_ = data_dir + "/keys.json";

  auto text = ReadFileToString(store->path_);
  if (!text.ok() && text.status().code() != StatusCode::kNotFound) return text.status();
  if (text.ok()) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto err = parser.parse(*text).get(root); err) {
      return Status::Corruption(store->path_ + ": " + simdjson::error_message(err));
    }
    simdjson::dom::array keys;
    if (root["keys"].get(keys) != simdjson::SUCCESS) {
      return Status::Corruption(store->path_ + ": expected {\"keys\":[…]}");
    }
    size_t index = 0;
    for (auto k : keys) {
      Entry e;
      std::string_view id, hash, source, platform;
      std::string where = store->path_ + ": keys[" + std::to_string(index++) + "]";
      if (k["id"].get(id) || k["sha256"].get(hash) || k["source"].get(source) ||
          k["platform"].get(platform)) {
        return Status::Corruption(where + ": needs string id, sha256, source and platform");
      }
      e.info.id = id;
      e.sha256_hex = hash;
      e.info.source = source;
      e.info.platform = platform;
      simdjson::dom::array scopes;
      if (k["scopes"].get(scopes) == simdjson::SUCCESS) {
        for (auto s : scopes) {
          std::string_view scope;
          if (s.get(scope) == simdjson::SUCCESS) e.info.scopes.emplace_back(scope);
        }
      }
      bool revoked = false;
      if (k["revoked"].get(revoked) == simdjson::SUCCESS) e.info.revoked = revoked;
      int64_t created = 0;
      if (k["created_at_ms"].get(created) == simdjson::SUCCESS) e.info.created_at_ms = created;
      store->entries_.push_back(std::move(e));
    }
  }

  size_t index = 0;
  for (const ConfiguredKey& ck : config.configured_keys()) {
    Entry e;
    e.sha256_hex = Sha256Hex(ck.key);
    // A stable, non-secret id: derived from the hash, never from the key's characters.
    e.info.id = "k_cfg_" + e.sha256_hex.substr(0, 10);
    e.info.source = ck.source;
    e.info.platform = ck.platform;
    e.info.scopes = ck.scopes;
    e.from_config = true;
    Status shape = CheckKeyShape(ck.source, ck.platform, ck.scopes);
    if (!shape.ok()) {
      return Status::InvalidArgument("config [[keys]] entry " + std::to_string(index) + " (source " +
                                     ck.source + "): " + shape.message());
    }
    ++index;
    store->entries_.push_back(std::move(e));
  }
  return store;
}

std::string KeyStore::RenderKeysJson() const {
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const Entry& e : entries_) {
    if (e.from_config) continue;
    if (!first) out += ",";
    first = false;
    out += "\n  {\"id\":";
    event::AppendJsonString(&out, e.info.id);
    out += ",\"sha256\":";
    event::AppendJsonString(&out, e.sha256_hex);
    out += ",\"source\":";
    event::AppendJsonString(&out, e.info.source);
    out += ",\"platform\":";
    event::AppendJsonString(&out, e.info.platform);
    out += ",\"scopes\":[";
    for (size_t i = 0; i < e.info.scopes.size(); ++i) {
      if (i) out += ",";
      event::AppendJsonString(&out, e.info.scopes[i]);
    }
    out += "],\"revoked\":";
    out += e.info.revoked ? "true" : "false";
    out += ",\"created_at_ms\":";
    event::AppendJsonInt(&out, e.info.created_at_ms);
    out += ",\"created_at\":";
    event::AppendJsonString(&out, FormatRfc3339Millis(e.info.created_at_ms));
    out += "}";
  }
  out += "\n]}\n";
  return out;
}

Result<std::pair<std::string, KeyInfo>> KeyStore::Create(const std::string& source,
                                                         const std::string& platform,
                                                         const std::vector<std::string>& scopes) {
  RETURN_IF_ERROR(CheckKeyShape(source, platform, scopes));
  ASSIGN_OR_RETURN(std::string random, RandomBase62(32));
  ASSIGN_OR_RETURN(std::string id_part, RandomBase62(12));
  std::string secret = "tmk_" + random;
  Entry e;
  e.sha256_hex = Sha256Hex(secret);
  e.info.id = "k_" + id_part;
  e.info.source = source;
  e.info.platform = platform;
  e.info.scopes = scopes;
  e.info.created_at_ms = SystemClock::Instance().NowMillis();
  KeyInfo info = e.info;

  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(CreateDirectories(data_dir_));
  entries_.push_back(std::move(e));
  Status st = WriteFileAtomic(path_, RenderKeysJson());
  if (!st.ok()) {
    entries_.pop_back();
    return Status(st.code(), "saving new key to " + path_ + ": " + st.message());
  }
  return std::make_pair(std::move(secret), std::move(info));
}

std::vector<KeyInfo> KeyStore::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<KeyInfo> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.info);
  return out;
}

Status KeyStore::Revoke(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Entry& e : entries_) {
    if (e.info.id != id) continue;
    if (e.from_config) {
      return Status::FailedPrecondition("key " + id + " comes from the config file; remove it there");
    }
    if (e.info.revoked) return Status::Ok();
    e.info.revoked = true;
    Status st = WriteFileAtomic(path_, RenderKeysJson());
    if (!st.ok()) {
      e.info.revoked = false;
      return Status(st.code(), "saving revocation of " + id + " to " + path_ + ": " + st.message());
    }
    return Status::Ok();
  }
  return Status::NotFound("no key with id " + id);
}

std::optional<KeyInfo> KeyStore::Authenticate(std::string_view presented) const {
  if (presented.empty()) return std::nullopt;
  const std::string hash = Sha256Hex(presented);
  std::lock_guard<std::mutex> lock(mu_);
  // Compare against every live key, without stopping early, so timing says nothing about
  // which (or whether a) key matched.
  const Entry* match = nullptr;
  for (const Entry& e : entries_) {
    bool equal = ConstantTimeEquals(hash, e.sha256_hex);
    if (equal && !e.info.revoked) match = &e;
  }
  if (match == nullptr) return std::nullopt;
  return match->info;
}

}  // namespace tidemark::gateway
