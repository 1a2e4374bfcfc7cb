// Schemas on the ingest path of the real `tidemark serve`: page_view evolves v1 → v2 → v3
// while events flow, a breaking v4 is refused and none of its events reach the log, every
// record decodes with the v3 reader (ours, and the npm `avsc` library reading the schemas
// from our registry API); PII annotations keep raw values out of every file under the data
// directory; strict sources refuse unregistered event types.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli/http_client.h"
#include "common/files.h"
#include "common/subprocess.h"
#include "e2e/tidemark_server.h"
#include "event/json_writer.h"

namespace tidemark::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSourceDir = TIDEMARK_SOURCE_DIR;
const std::string kSchemas = kSourceDir + "/schemas";
constexpr int64_t kT0 = 1'775'800'800'000;  // 2026-04-10T06:00:00Z

std::string Quoted(std::string_view s) {
  std::string out;
  event::AppendJsonString(&out, s);
  return out;
}

// POST /subjects/{subject}/versions on the registry listener, as a registry client does.
Result<cli::HttpResult> Register(TidemarkServer& server, const std::string& key, const std::string& subject,
                                 const std::string& schema_path) {
  ASSIGN_OR_RETURN(std::string schema, ReadFileToString(schema_path));
  cli::HttpConnection conn("127.0.0.1", server.registry_port());
  return conn.Request("POST", "/subjects/" + subject + "/versions", "{\"schema\":" + Quoted(schema) + "}",
                      {{"Authorization", "Bearer " + key},
                       {"Content-Type", "application/vnd.schemaregistry.v1+json"}});
}

std::string Batch(const std::vector<std::string>& events) {
  std::string body = "{\"batch\":[";
  for (size_t i = 0; i < events.size(); ++i) body += (i ? "," : "") + events[i];
  return body + "]}";
}

// One page_view as version v's producers send it.
std::string PageView(int v, int i) {
  std::string e = R"({"event_id":"pv)" + std::to_string(v) + "-" + std::to_string(i) +
                  R"(","event_type":"page_view","timestamp":)" + std::to_string(kT0 + v * 60000 + i) +
                  R"(,"user_id":"u-)" + std::to_string(i % 7) + "\"";
  if (v == 2) e += R"(,"context":{"device_type":"mobile","app_version":"2.)" + std::to_string(i) + "\"}";
  if (v == 3) {
    e += R"(,"context":{"device_type":"desktop","app_version":"3.0","geo_lat":52.5,"geo_lng":)" +
         std::to_string(13 + i) + ".25}";
  }
  return e + "}";
}

int64_t Accepted(const std::string& body) {
  simdjson::dom::parser parser;
  return parser.parse(body)["accepted"].get_int64().value();
}

TEST(SchemaIngestTest, EvolutionV1ToV3DecodesWithV3AndAvscAgreesWhileBreakingV4IsRefused) {
  TidemarkServer server;
  const std::string admin = server.CreateKey("ops", "server", "admin,read");
  const std::string writer = server.CreateKey("web-shop", "web", "write");
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  ASSERT_NE(server.registry_port(), 0) << server.Output();

  std::set<int> ids;
  for (int v = 1; v <= 3; ++v) {
    auto r = Register(server, admin, "page_view-value", kSchemas + "/page_view/v" + std::to_string(v) + ".avsc");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->status, 200) << r->body;
    simdjson::dom::parser parser;
    ids.insert(static_cast<int>(parser.parse(r->body)["id"].get_int64().value()));
    std::vector<std::string> events;
    for (int i = 0; i < 20; ++i) events.push_back(PageView(v, i));
    auto sent = server.Post("/v1/batch", Batch(events), writer);
    ASSERT_TRUE(sent.ok());
    ASSERT_EQ(sent->status, 200) << sent->body;
    EXPECT_EQ(Accepted(sent->body), 20) << sent->body;
  }
  ASSERT_EQ(ids.size(), 3u);

  // v4 drops the default of context.geo_lat: refused, naming the field.
  auto v4 = Register(server, admin, "page_view-value", kSchemas + "/page_view/v4_breaking.avsc");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->status, 409) << v4->body;
  EXPECT_NE(v4->body.find("geo_lat"), std::string::npos) << v4->body;
  // An event that names the refused version is rejected, not written under another one.
  auto named = server.Post("/v1/batch", Batch({R"({"event_type":"page_view","schema_version":4,"timestamp":)" +
                                               std::to_string(kT0) + R"(,"user_id":"u-v4"})"}),
                           writer);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(Accepted(named->body), 0) << named->body;
  EXPECT_NE(named->body.find("schema_violation"), std::string::npos) << named->body;
  // A v3 event with a wrongly typed field is a schema violation naming it.
  auto bad = server.Post("/v1/batch", Batch({R"({"event_type":"page_view","timestamp":)" + std::to_string(kT0) +
                                             R"(,"user_id":"u-bad","context":{"geo_lat":"north"}})"}),
                         writer);
  ASSERT_TRUE(bad.ok());
  EXPECT_NE(bad->body.find("context.geo_lat"), std::string::npos) << bad->body;

  // Every record decodes with the v3 reader: fields older writers lacked take their defaults.
  const std::string dump_path = server.data_dir() + "-page-views.jsonl";
  auto dump = RunCommand({TidemarkBinary(), "log", "dump", "--data", server.data_dir(), "--topic", "user-events",
                          "--raw-values"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  ASSERT_TRUE(WriteFileAtomic(dump_path, dump.out).ok());
  simdjson::dom::parser parser;
  int records = 0;
  std::set<int> seen_ids;
  std::istringstream lines(dump.out);
  for (std::string line; std::getline(lines, line);) {
    simdjson::dom::element rec = parser.parse(line).value();
    std::string_view hex = rec["value_hex"].get_string().value();
    ASSERT_EQ(hex.substr(0, 2), "00");
    seen_ids.insert(std::stoi(std::string(hex.substr(2, 8)), nullptr, 16));
    simdjson::dom::element value = rec["value"];
    std::string id(value["event_id"].get_string().value());
    simdjson::dom::object context = value["context"].get_object().value();
    ASSERT_TRUE(context["geo_lat"].error() == simdjson::SUCCESS) << line;
    if (id.starts_with("pv1-")) {
      EXPECT_EQ(std::string_view(context["device_type"].get_string().value()), "unknown") << line;
      EXPECT_TRUE(context["app_version"].is_null()) << line;
      EXPECT_TRUE(context["geo_lat"].is_null()) << line;
    } else if (id.starts_with("pv2-")) {
      EXPECT_EQ(std::string_view(context["device_type"].get_string().value()), "mobile") << line;
      EXPECT_TRUE(context["geo_lng"].is_null()) << line;
    } else {
      ASSERT_TRUE(id.starts_with("pv3-")) << line;
      EXPECT_EQ(context["geo_lat"].get_double().value(), 52.5) << line;
    }
    ++records;
  }
  EXPECT_EQ(records, 60) << "the log holds exactly the v1, v2 and v3 events";
  EXPECT_EQ(seen_ids, ids) << "every record is framed with the id of the version it was written with";

  // An independent Avro implementation reads the same bytes the same way.
  auto avsc = RunCommand({"/usr/bin/env", "node", kSourceDir + "/tests/schema/evolution_avsc_check.mjs",
                          server.registry_url(), admin, "page_view-value", dump_path});
  fs::remove(dump_path);
  if (avsc.exit_code == 77 || avsc.exit_code == 127) GTEST_SKIP() << "avsc is not installed: " << avsc.out;
  EXPECT_EQ(avsc.exit_code, 0) << avsc.out << avsc.err;
  EXPECT_NE(avsc.out.find("60 passed, 0 failed"), std::string::npos) << avsc.out;
  EXPECT_EQ(server.Terminate(), 0) << server.Output();
}

// True when `needle` occurs in the bytes of any file below `dir`; *where names it.
bool AnyFileHolds(const std::string& dir, const std::string& needle, std::string* where) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    auto text = ReadFileToString(entry.path().string());
    if (text.ok() && text->find(needle) != std::string::npos) {
      *where = entry.path().string();
      return true;
    }
  }
  return false;
}

TEST(SchemaIngestTest, AnnotatedPiiNeverReachesAnyFileUnderTheDataDirectory) {
  TidemarkServer server({"--set", "lake.flush_interval_ms=500", "--set", "stream.checkpoint_interval_ms=500"});
  const std::string admin = server.CreateKey("ops", "server", "admin");
  const std::string writer = server.CreateKey("web-shop", "web", "write");
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  auto r = Register(server, admin, "checkout-value", kSchemas + "/checkout.avsc");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;

  // checkout.avsc: context.ip truncate_ip, properties.email hash, phone drop,
  // shipping_address redact.
  const std::vector<std::string> raw_values = {"ada.lovelace@example.com", "198.51.100.77",
                                               "+44 20 7946 0958", "12 Analytical Engine Row"};
  std::vector<std::string> events;
  for (int i = 0; i < 50; ++i) {
    events.push_back(R"({"event_type":"checkout","timestamp":)" + std::to_string(kT0 + i) +
                     R"(,"user_id":"u-)" + std::to_string(i) + R"(","context":{"ip":"198.51.100.77"},)"
                     R"("properties":{"order_id":"o-)" + std::to_string(i) +
                     R"(","revenue":19.5,"email":"ada.lovelace@example.com","phone":"+44 20 7946 0958",)"
                     R"("shipping_address":"12 Analytical Engine Row"}})");
  }
  // Rejected (revenue is not a number): its DLQ record is masked too.
  events.push_back(R"({"event_type":"checkout","timestamp":)" + std::to_string(kT0) +
                   R"(,"user_id":"u-x","context":{"ip":"198.51.100.77"},"properties":{"order_id":"o-x",)"
                   R"("revenue":"lots","email":"ada.lovelace@example.com","phone":"+44 20 7946 0958",)"
                   R"("shipping_address":"12 Analytical Engine Row"}})");
  auto sent = server.Post("/v1/batch", Batch(events), writer);
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->status, 200) << sent->body;
  EXPECT_EQ(Accepted(sent->body), 50) << sent->body;
  EXPECT_NE(sent->body.find("properties.revenue"), std::string::npos) << sent->body;
  // Let the stream checkpoint and the bronze writer commit, then drain.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  ASSERT_EQ(server.Terminate(), 0) << server.Output();

  // The masked forms are there (the events were kept), the raw ones nowhere.
  auto dump = RunCommand({TidemarkBinary(), "log", "dump", "--data", server.data_dir(), "--topic", "user-events"});
  EXPECT_NE(dump.out.find("\"ip\":\"198.51.100.0\""), std::string::npos) << dump.out.substr(0, 2000);
  EXPECT_NE(dump.out.find("[REDACTED]"), std::string::npos);
  auto dlq = RunCommand({TidemarkBinary(), "log", "dump", "--data", server.data_dir(), "--topic", "dlq-events"});
  EXPECT_NE(dlq.out.find("schema_violation"), std::string::npos) << dlq.out;
  EXPECT_TRUE(fs::exists(server.data_dir() + "/lake/bronze/user_events")) << "bronze committed nothing";
  for (const std::string& raw : raw_values) {
    std::string where;
    EXPECT_FALSE(AnyFileHolds(server.data_dir(), raw, &where)) << "'" << raw << "' is in " << where;
  }
  // Parquet pages are compressed: read them back through DuckDB and look there too.
  std::vector<std::string> argv = {"/usr/bin/env", "node", kSourceDir + "/tests/schema/pii_scan_parquet.mjs",
                                   server.data_dir() + "/lake"};
  argv.insert(argv.end(), raw_values.begin(), raw_values.end());
  auto scan = RunCommand(argv);
  if (scan.exit_code == 77 || scan.exit_code == 127) GTEST_SKIP() << "DuckDB is not installed: " << scan.out;
  EXPECT_EQ(scan.exit_code, 0) << scan.out << scan.err;
}

TEST(SchemaIngestTest, StrictSourceRejectsUnregisteredTypesPermissiveOneAcceptsThem) {
  TidemarkServer server({"--set", "schema.unknown_event_types_by_source=partner:strict"});
  const std::string partner = server.CreateKey("partner", "server", "write");
  const std::string web = server.CreateKey("web-shop", "web", "write");
  ASSERT_TRUE(server.Start().ok()) << server.Output();
  const std::string event = R"({"event_type":"level_up","timestamp":)" + std::to_string(kT0) +
                            R"(,"user_id":"u-1","properties":{"level":3,"badges":["gold"]}})";
  auto strict = server.Post("/v1/batch", Batch({event}), partner);
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ(Accepted(strict->body), 0);
  EXPECT_NE(strict->body.find("unknown_event_type"), std::string::npos) << strict->body;
  auto permissive = server.Post("/v1/batch", Batch({event}), web);
  ASSERT_TRUE(permissive.ok());
  EXPECT_EQ(Accepted(permissive->body), 1) << permissive->body;
  auto records = server.Dump("user-events");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_NE(records[0].value.find(R"("properties":{"level":3,"badges":["gold"]})"), std::string::npos)
      << records[0].value;
  auto dlq = server.Dump("dlq-events");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_NE(dlq[0].value.find("unknown_event_type"), std::string::npos) << dlq[0].value;
  EXPECT_EQ(server.Terminate(), 0) << server.Output();
}

}  // namespace
}  // namespace tidemark::testing
