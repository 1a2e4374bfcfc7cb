// End to end through the real binary: POST /v1/batch over real HTTP, then the log on disk
// read back with `tidemark log dump`.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <string>

#include <simdjson.h>

#include "cli/loadgen.h"
#include "e2e/tidemark_server.h"

namespace tidemark::testing {
namespace {

using cli::HttpResult;

std::string Event(const std::string& id, const std::string& user, const std::string& extra = "") {
  return R"({"event_id":")" + id + R"(","event_type":"page_view","timestamp":")" +
         "2026-11-27T10:00:00Z" + R"(","user_id":")" + user + R"(","properties":{"url":"/home"})" +
         extra + "}";
}

std::string Batch(const std::vector<std::string>& events) {
  std::string body = "{\"batch\":[";
  for (size_t i = 0; i < events.size(); ++i) body += (i ? "," : "") + events[i];
  return body + "]}";
}

simdjson::dom::element Parse(simdjson::dom::parser& parser, const std::string& json) {
  return parser.parse(json).value();
}

class IngestTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> args = {}, std::vector<std::string> env = {}) {
    server_ = std::make_unique<TidemarkServer>(std::move(args), std::move(env));
    write_key_ = server_->CreateKey("web-shop", "web", "write");
    ASSERT_FALSE(write_key_.empty());
    ASSERT_TRUE(server_->Start().ok()) << server_->Output();
  }
  std::unique_ptr<TidemarkServer> server_;
  std::string write_key_;
  simdjson::dom::parser parser_;
};

TEST_F(IngestTest, FirstEventIsAcknowledgedAndInTheLog) {
  StartServer();
  auto r = server_->Post("/v1/batch", Batch({Event("e-1", "u-1")}), write_key_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;
  auto answer = Parse(parser_, r->body);
  EXPECT_EQ(answer["accepted"].get_int64().value(), 1);
  EXPECT_EQ(answer["rejected"].get_int64().value(), 0);

  auto records = server_->Dump("user-events");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "u-1");
  auto value = Parse(parser_, records[0].value);
  EXPECT_EQ(std::string_view(value["event_id"].get_string().value()), "e-1");
  // The value is the event as its (generic) schema describes it; what the gateway added
  // beside it is in the record: the source in a header, received_at as the timestamp.
  EXPECT_EQ(std::string_view(value["platform"].get_string().value()), "web");
  EXPECT_EQ(records[0].headers["source"], "web-shop");
  EXPECT_GT(records[0].timestamp, 1775800800000);
}

TEST_F(IngestTest, MixedBatchGetsPerEventErrorsAndEveryEventLands) {
  StartServer();
  std::string big(40000, 'x');
  std::vector<std::string> events = {
      Event("ok-1", "u-1"),
      R"({"event_id":"missing","event_type":"page_view","timestamp":1775800800000})",
      R"({"event_id":"badtype","event_type":"page_view","timestamp":"tomorrow-ish","user_id":"u-2"})",
      Event("huge", "u-3", R"(,"context":{"blob":")" + big + R"("})"),
      R"({"event_id":"srv","event_type":"api_request","timestamp":1775800800000,"user_id":"u-4","platform":"server","context":{"service":"checkout-api"}})",
  };
  auto r = server_->Post("/v1/batch", Batch(events), write_key_);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  auto answer = Parse(parser_, r->body);
  EXPECT_EQ(answer["accepted"].get_int64().value(), 2);
  EXPECT_EQ(answer["rejected"].get_int64().value(), 3);
  std::map<int64_t, std::string> codes;
  for (auto err : answer["errors"].get_array()) {
    codes[err["index"].get_int64().value()] = std::string(err["code"].get_string().value());
    EXPECT_FALSE(std::string_view(err["message"].get_string().value()).empty());
  }
  EXPECT_EQ(codes[1], "missing_field");
  EXPECT_EQ(codes[2], "invalid_field");
  EXPECT_EQ(codes[3], "event_too_large");

  auto user = server_->Dump("user-events");
  ASSERT_EQ(user.size(), 1u);
  EXPECT_NE(user[0].value.find("\"ok-1\""), std::string::npos);
  auto server_events = server_->Dump("server-events");
  ASSERT_EQ(server_events.size(), 1u);
  EXPECT_EQ(server_events[0].key, "checkout-api");
  auto dlq = server_->Dump("dlq-events");
  ASSERT_EQ(dlq.size(), 3u);
  std::map<int64_t, std::string> dlq_reasons;
  for (const auto& rec : dlq) {
    auto v = Parse(parser_, rec.value);
    dlq_reasons[v["index"].get_int64().value()] = std::string(v["reason"].get_string().value());
  }
  EXPECT_EQ(dlq_reasons, codes);
}

TEST_F(IngestTest, UnparseableBodyIs400AndItsRawBodyGoesToTheDlq) {
  StartServer();
  auto r = server_->Post("/v1/batch", "{\"batch\":[{\"event_type\":", write_key_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  auto dlq = server_->Dump("dlq-events");
  ASSERT_EQ(dlq.size(), 1u);
  auto v = Parse(parser_, dlq[0].value);
  EXPECT_EQ(std::string_view(v["reason"].get_string().value()), "invalid_json");
  EXPECT_NE(dlq[0].value.find("event_type"), std::string::npos);
}

TEST_F(IngestTest, MissingOrUnknownKeyIs401AndWrongScopeIs403) {
  StartServer();
  std::string read_key = server_->CreateKey("analyst", "web", "read");
  std::string body = Batch({Event("e-1", "u-1")});
  auto none = server_->Post("/v1/batch", body, "");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 401);
  auto unknown = server_->Post("/v1/batch", body, "tmk_not_a_real_key_0000000000000000");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 401);
  // Keys are read at start; restart so the new read-only key is known.
  ASSERT_EQ(server_->Terminate(), 0);
  ASSERT_TRUE(server_->Start().ok());
  auto wrong_scope = server_->Post("/v1/batch", body, read_key);
  ASSERT_TRUE(wrong_scope.ok());
  EXPECT_EQ(wrong_scope->status, 403) << wrong_scope->body;
  EXPECT_TRUE(server_->Dump("user-events").empty());
}

TEST_F(IngestTest, OversizedRequestsAndBatchesAre413) {
  StartServer({"--set", "gateway.max_request_bytes=100000", "--set", "gateway.max_batch_events=10"});
  std::vector<std::string> many;
  for (int i = 0; i < 11; ++i) many.push_back(Event("e-" + std::to_string(i), "u-1"));
  auto too_many = server_->Post("/v1/batch", Batch(many), write_key_);
  ASSERT_TRUE(too_many.ok());
  EXPECT_EQ(too_many->status, 413) << too_many->body;
  std::string padding(120000, ' ');
  auto too_big = server_->Post("/v1/batch", Batch({Event("e-1", "u-1")}) + padding, write_key_);
  ASSERT_TRUE(too_big.ok());
  EXPECT_EQ(too_big->status, 413);
  // A small gzip body that inflates past the limit (a "zip bomb") is refused the same way.
  auto bomb = cli::CompressBody(Batch({Event("e-1", "u-1")}) + std::string(10 << 20, ' '), "gzip");
  ASSERT_TRUE(bomb.ok());
  auto bombed = server_->Post("/v1/batch", *bomb, write_key_, {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(bombed.ok());
  EXPECT_EQ(bombed->status, 413);
  EXPECT_TRUE(server_->Dump("user-events").empty());
}

TEST_F(IngestTest, UnsupportedEncodingIs415) {
  StartServer();
  auto r = server_->Post("/v1/batch", Batch({Event("e-1", "u-1")}), write_key_,
                         {{"Content-Encoding", "br"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 415);
}

TEST_F(IngestTest, RateLimitedKeyGets429WithRetryAfter) {
  StartServer({"--set", "gateway.rate_limit_events_per_second=1", "--set", "gateway.rate_limit_burst=5"});
  std::vector<std::string> five;
  for (int i = 0; i < 5; ++i) five.push_back(Event("e-" + std::to_string(i), "u-1"));
  auto first = server_->Post("/v1/batch", Batch(five), write_key_);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 200);
  auto second = server_->Post("/v1/batch", Batch(five), write_key_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 429);
  EXPECT_TRUE(second->headers.count("retry-after"));
  EXPECT_EQ(server_->Dump("user-events").size(), 5u);
}

TEST_F(IngestTest, OverloadGets503WithRetryAfter) {
  // More request bytes than the gateway may hold in flight: the server sheds load with 503.
  StartServer({"--set", "gateway.max_inflight_bytes=100"});
  auto r = server_->Post("/v1/batch", Batch({Event("e-1", "u-1")}), write_key_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_TRUE(r->headers.count("retry-after"));
}

TEST_F(IngestTest, CompressedBodiesAreAcceptedAndBrokenOnesAre400) {
  StartServer();
  std::string body = Batch({Event("gz", "u-1")});
  auto gz = cli::CompressBody(body, "gzip");
  auto zs = cli::CompressBody(Batch({Event("zs", "u-2")}), "zstd");
  ASSERT_TRUE(gz.ok() && zs.ok());
  auto r1 = server_->Post("/v1/batch", *gz, write_key_, {{"Content-Encoding", "gzip"}});
  auto r2 = server_->Post("/v1/batch", *zs, write_key_, {{"Content-Encoding", "zstd"}});
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(r1->status, 200) << r1->body;
  EXPECT_EQ(r2->status, 200) << r2->body;

  const std::vector<std::pair<std::string, std::string>> broken = {
      {"gzip", gz->substr(0, gz->size() / 2)},           // truncated
      {"zstd", zs->substr(0, zs->size() / 2)},           // truncated
      {"gzip", "this is not gzip at all"},               // malformed
      {"zstd", std::string("\x28\xb5\x2f\xfd garbage", 12)},  // zstd magic, then junk
  };
  for (const auto& [codec, bytes] : broken) {
    auto r = server_->Post("/v1/batch", bytes, write_key_, {{"Content-Encoding", codec}});
    ASSERT_TRUE(r.ok()) << "server died on a broken " << codec << " body";
    EXPECT_EQ(r->status, 400) << codec << ": " << r->body;
  }
  auto alive = server_->Get("/healthz");
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(alive->status, 200);
  EXPECT_EQ(server_->Dump("user-events").size(), 2u);
}

TEST_F(IngestTest, WithStreamAndLakeOffEventsAreStillAckedIntoTheLogAndQueryIs503) {
  server_ = std::make_unique<TidemarkServer>(
      std::vector<std::string>{"--set", "stream.enabled=false", "--set", "lake.enabled=false"});
  write_key_ = server_->CreateKey("web-shop", "web", "write");
  std::string read_key = server_->CreateKey("analyst", "web", "read");  // keys are read at start
  ASSERT_TRUE(server_->Start().ok()) << server_->Output();
  auto r = server_->Post("/v1/batch", Batch({Event("e-1", "u-1"), Event("e-2", "u-2")}), write_key_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;
  auto q = server_->Get("/v1/query?metric=events&from=0&to=1&step=1m", read_key);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->status, 503);
  EXPECT_NE(q->body.find("stream.enabled is false"), std::string::npos) << q->body;
  EXPECT_EQ(server_->Terminate(), 0) << server_->Output();
  EXPECT_EQ(server_->Dump("user-events").size(), 2u);
}

TEST_F(IngestTest, MetricsCountRequestsAndSigtermExitsCleanly) {
  StartServer();
  ASSERT_EQ(server_->Post("/v1/batch", Batch({Event("e-1", "u-1")}), write_key_)->status, 200);
  auto m = server_->Get("/metrics");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("tidemark_events_accepted_total"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("tidemark_log_fsync_seconds"), std::string::npos);
  EXPECT_EQ(server_->Terminate(), 0) << server_->Output();
  EXPECT_NE(server_->Output().find("stopped cleanly"), std::string::npos);
}

}  // namespace
}  // namespace tidemark::testing
