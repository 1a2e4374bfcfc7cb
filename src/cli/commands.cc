#include "cli/commands.h"

#include <cstdio>
#include <iostream>
#include <sstream>

#include <simdjson.h>

#include "common/config.h"
#include "common/time_format.h"
#include "gateway/key_store.h"
#include "log/embedded_log.h"

namespace tidemark::cli {
namespace {

int Fail(std::string_view what, const Status& st) {
  std::fprintf(stderr, "tidemark %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               st.ToString().c_str());
  return 1;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::vector<std::string> SplitCsv(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The record value as JSON: embedded as-is when it is a JSON document, else as a string.
std::string ValueAsJson(std::string_view value, simdjson::dom::parser& parser) {
  simdjson::dom::element doc;
  if (!value.empty() && (value.front() == '{' || value.front() == '[') &&
      parser.parse(value.data(), value.size()).get(doc) == simdjson::SUCCESS) {
    return std::string(value);
  }
  return JsonString(value);
}

}  // namespace

int KeysCreate(const std::string& data_dir, const std::string& source, const std::string& platform,
               const std::string& scopes_csv) {
  auto store = gateway::KeyStore::Open(data_dir, Config());
  if (!store.ok()) return Fail("keys create", store.status());
  auto created = (*store)->Create(source, platform, SplitCsv(scopes_csv));
  if (!created.ok()) return Fail("keys create", created.status());
  const auto& [secret, info] = *created;
  std::printf("%s\n", secret.c_str());
  std::string scopes;
  for (const auto& s : info.scopes) scopes += (scopes.empty() ? "" : ",") + s;
  std::fprintf(stderr, "created key %s for source %s (platform %s, scopes %s); the secret is shown only once\n",
               info.id.c_str(), info.source.c_str(), info.platform.c_str(), scopes.c_str());
  return 0;
}

int KeysList(const std::string& data_dir) {
  auto store = gateway::KeyStore::Open(data_dir, Config());
  if (!store.ok()) return Fail("keys list", store.status());
  std::printf("%-20s %-20s %-8s %-18s %-8s %s\n", "ID", "SOURCE", "PLATFORM", "SCOPES", "STATE", "CREATED");
  for (const auto& k : (*store)->List()) {
    std::string scopes;
    for (const auto& s : k.scopes) scopes += (scopes.empty() ? "" : ",") + s;
    std::printf("%-20s %-20s %-8s %-18s %-8s %s\n", k.id.c_str(), k.source.c_str(), k.platform.c_str(),
                scopes.c_str(), k.revoked ? "revoked" : "active",
                k.created_at_ms ? FormatRfc3339Millis(k.created_at_ms).c_str() : "-");
  }
  return 0;
}

int KeysRevoke(const std::string& data_dir, const std::string& id) {
  auto store = gateway::KeyStore::Open(data_dir, Config());
  if (!store.ok()) return Fail("keys revoke", store.status());
  Status st = (*store)->Revoke(id);
  if (!st.ok()) return Fail("keys revoke", st);
  std::fprintf(stderr, "revoked key %s\n", id.c_str());
  return 0;
}

int LogDump(const LogDumpOptions& o) {
  log::EmbeddedLogOptions options;
  options.dir = o.data_dir + "/log";
  options.read_only = true;
  auto opened = log::OpenEmbeddedLog(options);
  if (!opened.ok()) return Fail("log dump", opened.status());
  log::Log& lg = **opened;
  auto partitions = lg.PartitionCount(o.topic);
  if (!partitions.ok()) return Fail("log dump", partitions.status());
  simdjson::dom::parser parser;
  int64_t printed = 0;
  for (int p = 0; p < *partitions; ++p) {
    if (o.partition >= 0 && p != o.partition) continue;
    auto start = lg.StartOffset(o.topic, p);
    if (!start.ok()) return Fail("log dump", start.status());
    int64_t offset = std::max(o.from, *start);
    for (;;) {
      auto end = lg.EndOffset(o.topic, p);
      if (!end.ok()) return Fail("log dump", end.status());
      if (offset >= *end) break;
      auto records = lg.Read(o.topic, p, offset);
      if (!records.ok()) return Fail("log dump", records.status());
      if (records->empty()) break;
      std::string out;
      for (const auto& r : *records) {
        if (o.limit >= 0 && printed >= o.limit) break;
        out += "{\"topic\":" + JsonString(o.topic) + ",\"partition\":" + std::to_string(p) +
               ",\"offset\":" + std::to_string(r.offset) + ",\"key\":" + JsonString(r.key) +
               ",\"timestamp\":" + std::to_string(r.timestamp_ms) +
               ",\"value\":" + ValueAsJson(r.value, parser) + "}\n";
        ++printed;
        offset = r.offset + 1;
      }
      std::fwrite(out.data(), 1, out.size(), stdout);
      if (o.limit >= 0 && printed >= o.limit) return 0;
    }
  }
  return 0;
}

}  // namespace tidemark::cli
