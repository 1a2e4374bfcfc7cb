#include "cli/commands.h"

#include <cstdio>
#include <iostream>
#include <sstream>

#include <simdjson.h>

#include "common/config.h"
#include "event/json_writer.h"
#include "common/time_format.h"
#include "gateway/key_store.h"
#include "log/embedded_log.h"
#include "schema/registry.h"
#include "schema/wire_format.h"

namespace tidemark::cli {
namespace {

int Fail(std::string_view what, const Status& st) {
  std::fprintf(stderr, "tidemark %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               st.ToString().c_str());
  return 1;
}

std::string JsonString(std::string_view s) {
  std::string out;
  event::AppendJsonString(&out, s);
  return out;
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

// The record value as JSON: Confluent-framed Avro decoded with the registry's latest reader
// schema, a JSON document as-is, anything else as a string.
std::string ValueAsJson(std::string_view value, simdjson::dom::parser& parser,
                        schema::ConsumerDecoder* avro) {
  if (avro != nullptr && value.size() >= 5 && value[0] == 0) {
    std::string json;
    Status st = avro->DecodeToJson(value, &json);
    if (st.ok()) return json;
    return "{\"undecodable\":" + JsonString(st.ToString()) + "}";
  }
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
  // Values written with a registered schema are decoded through the registry's state,
  // replayed read-only from the _schemas topic.
  std::unique_ptr<schema::Registry> registry;
  std::unique_ptr<schema::ConsumerDecoder> avro;
  if (lg.PartitionCount(log::kSchemas).ok()) {
    auto opened_registry = schema::Registry::Open(lg);
    if (opened_registry.ok()) {
      registry = std::move(opened_registry).value();
      avro = std::make_unique<schema::ConsumerDecoder>(*registry);
    } else {
      std::fprintf(stderr, "tidemark log dump: schema registry unavailable (%s); Avro values are shown raw\n",
                   opened_registry.status().ToString().c_str());
    }
  }
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
               ",\"timestamp\":" + std::to_string(r.timestamp_ms);
        if (!r.headers.empty()) {
          out += ",\"headers\":{";
          for (size_t h = 0; h < r.headers.size(); ++h) {
            out += (h ? "," : "") + JsonString(r.headers[h].first) + ":" + JsonString(r.headers[h].second);
          }
          out += "}";
        }
        out += ",\"value\":" + ValueAsJson(r.value, parser, avro.get());
        if (o.raw_values) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += ",\"value_hex\":\"";
          for (unsigned char c : r.value) {
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
          }
          out += "\"";
        }
        out += "}\n";
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
