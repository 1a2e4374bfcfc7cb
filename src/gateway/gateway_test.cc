#include "gateway/gateway.h"

#include "event/event.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <openssl/evp.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/files.h"
#include "common/hashing.h"
#include "gateway/test_util_internal.h"
#include "gateway/testing_log_internal.h"

namespace tidemark::gateway {
namespace {

using testing::Gzip;
using testing::HttpClient;
using testing::Response;
using testing::TestingLog;
using testing::Zstd;

constexpr int64_t kNow = 1775800800000;  // 2026-04-10T06:00:00Z

std::string Event(std::string_view user, std::string_view type = "page_view",
                  std::string_view extra = "") {
  return R"({"event_type":")" + std::string(type) + R"(","timestamp":1775800790000,"user_id":")" +
         std::string(user) + "\"" + std::string(extra) + "}";
}

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tidemark_gw_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(config_.Set("gateway.io_threads", "2").ok());
  }
  void TearDown() override {
    if (gateway_) gateway_->Stop();
    std::filesystem::remove_all(dir_);
  }

  void Start() {
    auto keys = KeyStore::Open(dir_.string(), config_);
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    keys_ = std::move(keys).value();
    write_key_ = keys_->Create("site", "web", {"write"})->first;
    read_key_ = keys_->Create("analyst", "web", {"read"})->first;
    GatewayDeps deps;
    deps.config = &config_;
    deps.log = &log_;
    deps.keys = keys_.get();
    deps.metrics = &metrics_;
    deps.clock = &clock_;
    auto gw = StartGateway("127.0.0.1:0", deps);
    ASSERT_TRUE(gw.ok()) << gw.status().ToString();
    gateway_ = std::move(gw).value();
    ASSERT_NE(gateway_->port(), 0);
  }

  std::map<std::string, std::string> Auth(const std::string& key,
                                          std::map<std::string, std::string> extra = {}) {
    extra["Authorization"] = "Bearer " + key;
    return extra;
  }

  Response PostBatch(const std::string& body, std::map<std::string, std::string> extra = {}) {
    HttpClient client(gateway_->port());
    return client.Send("POST", "/v1/batch", body, Auth(write_key_, std::move(extra)));
  }

  // The "error" member of a JSON error answer.
  static std::string ErrorOf(const Response& r) {
    simdjson::dom::parser parser;
    std::string_view error;
    if (parser.parse(r.body).at_key("error").get(error)) return "<no error member: " + r.body + ">";
    return std::string(error);
  }

  std::filesystem::path dir_;
  Config config_;
  TestingLog log_;
  MetricsRegistry metrics_;
  ManualClock clock_{kNow};
  std::unique_ptr<KeyStore> keys_;
  std::string write_key_, read_key_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayTest, MixedBatchAnswersPerEventErrorsAndFillsEachTopic) {
  ASSERT_TRUE(config_.Set("gateway.max_event_bytes", "2000").ok());
  Start();
  std::string body = "{\"sent_at\":\"2026-04-10T06:00:00Z\",\"batch\":[" +
                     Event("alice") + "," +                                            // 0 ok
                     R"({"event_type":"job.done","timestamp":1775800790000,"user_id":"svc",)"
                     R"("platform":"server","context":{"service":"billing"}})" + "," +  // 1 ok
                     R"({"event_type":"page_view","timestamp":1775800790000})" + "," +  // 2
                     Event("bob", "Page View") + "," +                                  // 3
                     Event("carol", "big", R"(,"properties":{"blob":")" + std::string(3000, 'x') + "\"}") +
                     "]}";
  Response r = PostBatch(body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            R"({"accepted":2,"rejected":3,"errors":[)"
            R"({"index":2,"code":"missing_field","message":"user_id or anonymous_id: required"},)"
            R"({"index":3,"code":"invalid_field","message":"event_type: must match [a-z0-9_.-]{1,64}"},)"
            R"({"index":4,"code":"event_too_large","message":"event: 3276 bytes of compact JSON exceed the limit of 2000"}]})");

  auto users = log_.All(log::kUserEvents);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].first, KafkaPartition("alice", 4));
  EXPECT_EQ(users[0].second.key, "alice");
  EXPECT_EQ(users[0].second.timestamp_ms, kNow);
  auto parsed = ::tidemark::event::EventFromJson(users[0].second.value);
  ASSERT_TRUE(parsed.ok()) << users[0].second.value;
  EXPECT_EQ(parsed->source, "site");
  EXPECT_EQ(parsed->received_at_ms, kNow);
  EXPECT_EQ(parsed->context_json, R"({"ip":"127.0.0.1"})");

  auto servers = log_.All(log::kServerEvents);
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0].second.key, "billing");
  EXPECT_EQ(servers[0].first, KafkaPartition("billing", 2));

  auto dlq = log_.All(log::kDlqEvents);
  ASSERT_EQ(dlq.size(), 3u);
  EXPECT_NE(dlq[0].second.value.find(R"("reason":"missing_field")"), std::string::npos);
  EXPECT_NE(dlq[0].second.value.find(R"("index":2)"), std::string::npos);
  EXPECT_NE(dlq[1].second.value.find(R"("raw":{"event_type":"Page View")"), std::string::npos)
      << dlq[1].second.value;
  EXPECT_NE(dlq[2].second.value.find(R"("reason":"event_too_large")"), std::string::npos);

  std::string metrics = metrics_.RenderPrometheus();
  EXPECT_NE(metrics.find(R"(tidemark_events_accepted_total{source="site"} 2)"), std::string::npos);
  EXPECT_NE(metrics.find(R"(tidemark_events_rejected_total{reason="missing_field"} 1)"), std::string::npos);
  EXPECT_NE(metrics.find(R"(tidemark_http_requests_total{path="/v1/batch",status="200"} 1)"),
            std::string::npos);
}

TEST_F(GatewayTest, BareArrayBodyIsAccepted) {
  Start();
  Response r = PostBatch("[" + Event("u1") + "," + Event("u2") + "]");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"accepted":2,"rejected":0,"errors":[]})");
  EXPECT_EQ(log_.All(log::kUserEvents).size(), 2u);
}

TEST_F(GatewayTest, MissingOrUnknownKeyIs401AndReadKeyIs403) {
  Start();
  HttpClient client(gateway_->port());
  Response none = client.Send("POST", "/v1/batch", "[]");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(ErrorOf(none), "unauthorized");
  Response unknown = client.Send("POST", "/v1/batch", "[]", Auth("tmk_nope"));
  EXPECT_EQ(unknown.status, 401);
  Response read_only = client.Send("POST", "/v1/batch", "[]", Auth(read_key_));
  EXPECT_EQ(read_only.status, 403);
  EXPECT_EQ(ErrorOf(read_only), "forbidden");
  EXPECT_EQ(log_.append_calls(), 0u);
}

TEST_F(GatewayTest, UnparseableBodyIs400AndDurableInDlqFirst) {
  Start();
  Response r = PostBatch(R"([{"event_type":"a", oops)");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorOf(r), "invalid_json");
  auto dlq = log_.All(log::kDlqEvents);
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_NE(dlq[0].second.value.find(R"("raw":"[{\"event_type\":\"a\", oops")"), std::string::npos)
      << dlq[0].second.value;
}

TEST_F(GatewayTest, OversizedBodyAndTooManyEventsAre413) {
  ASSERT_TRUE(config_.Set("gateway.max_request_bytes", "1000").ok());
  ASSERT_TRUE(config_.Set("gateway.max_batch_events", "3").ok());
  Start();
  Response big = PostBatch("[" + std::string(2000, ' ') + "]");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(ErrorOf(big), "payload_too_large");
  Response many = PostBatch("[{},{},{},{}]");
  EXPECT_EQ(many.status, 413);
  EXPECT_EQ(ErrorOf(many), "too_many_events");
}

TEST_F(GatewayTest, UnsupportedEncodingIs415) {
  Start();
  Response r = PostBatch("[]", {{"Content-Encoding", "br"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(ErrorOf(r), "unsupported_media_type");
}

TEST_F(GatewayTest, GzipAndZstdBodiesAreDecoded) {
  Start();
  std::string body = "[" + Event("g") + "]";
  Response gz = PostBatch(Gzip(body), {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(gz.status, 200) << gz.body;
  Response zs = PostBatch(Zstd(body), {{"Content-Encoding", "zstd"}});
  EXPECT_EQ(zs.status, 200) << zs.body;
  EXPECT_EQ(log_.All(log::kUserEvents).size(), 2u);
}

TEST_F(GatewayTest, TruncatedAndMalformedCompressedBodiesAre400) {
  Start();
  std::string body = "[" + Event("g", "a", R"(,"properties":{"x":")" + std::string(5000, 'y') + "\"}") + "]";
  std::string gz = Gzip(body), zs = Zstd(body);
  Response truncated_gz = PostBatch(gz.substr(0, gz.size() - 10), {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(truncated_gz.status, 400);
  EXPECT_NE(truncated_gz.body.find("truncated"), std::string::npos) << truncated_gz.body;
  Response truncated_zs = PostBatch(zs.substr(0, zs.size() - 5), {{"Content-Encoding", "zstd"}});
  EXPECT_EQ(truncated_zs.status, 400);
  Response malformed_gz = PostBatch("garbage garbage", {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(malformed_gz.status, 400);
  EXPECT_NE(malformed_gz.body.find("malformed"), std::string::npos);
  Response malformed_zs = PostBatch("garbage garbage", {{"Content-Encoding", "zstd"}});
  EXPECT_EQ(malformed_zs.status, 400);
  EXPECT_TRUE(log_.All(log::kUserEvents).empty());
}

TEST_F(GatewayTest, ZipBombIs413) {
  ASSERT_TRUE(config_.Set("gateway.max_request_bytes", "1048576").ok());
  Start();
  std::string bomb = Gzip(std::string(64 << 20, '['), 9);
  ASSERT_LT(bomb.size(), 1048576u);
  Response r = PostBatch(bomb, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorOf(r), "payload_too_large");
}

TEST_F(GatewayTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  HttpClient client(gateway_->port());
  for (int i = 0; i < 5; ++i) {
    Response r = client.Send("POST", "/v1/batch", "[" + Event("k" + std::to_string(i)) + "]", Auth(write_key_));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.keep_alive);
  }
  EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
  // Errors keep the connection too.
  EXPECT_EQ(client.Send("POST", "/v1/batch", "[]").status, 401);
  EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
  EXPECT_EQ(log_.All(log::kUserEvents).size(), 5u);
}

TEST_F(GatewayTest, RateLimitedKeyGets429WithRetryAfter) {
  ASSERT_TRUE(config_.Set("gateway.rate_limit_events_per_second", "2").ok());
  ASSERT_TRUE(config_.Set("gateway.rate_limit_burst", "3").ok());
  Start();
  std::string three = "[" + Event("a") + "," + Event("b") + "," + Event("c") + "]";
  EXPECT_EQ(PostBatch(three).status, 200);
  Response limited = PostBatch("[" + Event("d") + "]");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(ErrorOf(limited), "rate_limited");
  EXPECT_EQ(limited.headers["Retry-After"], "1");
  clock_.Advance(1000);  // two tokens back
  EXPECT_EQ(PostBatch("[" + Event("d") + "," + Event("e") + "]").status, 200);
  Response again = PostBatch(three);
  EXPECT_EQ(again.status, 429);
  EXPECT_EQ(again.headers["Retry-After"], "1");  // empty bucket: 0.5 s to the next token
}

TEST_F(GatewayTest, InflightBoundGives503WithRetryAfter) {
  ASSERT_TRUE(config_.Set("gateway.max_inflight_bytes", "100").ok());
  ASSERT_TRUE(config_.Set("gateway.retry_after_seconds", "3").ok());
  Start();
  Response r = PostBatch("[" + Event("a") + "," + Event("b") + "]");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["Retry-After"], "3");
  EXPECT_EQ(ErrorOf(r), "overloaded");
  EXPECT_EQ(PostBatch("[]").status, 200);  // small requests still pass
}

TEST_F(GatewayTest, UnavailableLogGives503AndOtherFailures500) {
  Start();
  log_.FailAppendsWith(Status::Unavailable("fsync backlog over log.max_pending_bytes"));
  Response r = PostBatch("[" + Event("a") + "]");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["Retry-After"], "1");
  EXPECT_NE(r.body.find("fsync backlog"), std::string::npos) << r.body;
  log_.FailAppendsWith(Status::IOError("disk on fire"));
  EXPECT_EQ(PostBatch("[" + Event("a") + "]").status, 500);
  log_.FailAppendsWith(Status::Ok());
  EXPECT_EQ(PostBatch("[" + Event("a") + "]").status, 200);
}

TEST_F(GatewayTest, AnswerWaitsForTheLogAndStopDrainsInFlightRequests) {
  Start();
  log_.HoldAcks(true);
  Response answer;
  std::thread client([&] { answer = PostBatch("[" + Event("late") + "]"); });
  while (log_.pending_acks() == 0) std::this_thread::yield();
  std::thread stopper([&] { gateway_->Stop(); });
  // Wait until Stop has closed the listener (a connection attempt is refused).
  for (;;) {
    try {
      HttpClient probe(gateway_->port());
    } catch (const std::exception&) {
      break;
    }
    std::this_thread::yield();
  }
  EXPECT_EQ(answer.status, 0);  // not answered while the append is not durable
  log_.HoldAcks(false);
  client.join();
  stopper.join();
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_FALSE(answer.keep_alive);
  EXPECT_THROW(HttpClient{gateway_->port()}, std::exception);  // no longer accepting
}

TEST_F(GatewayTest, HealthReadinessMetricsAndUnknownPaths) {
  Start();
  HttpClient client(gateway_->port());
  EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
  Response not_ready = client.Send("GET", "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(ErrorOf(not_ready), "not_ready");
  gateway_->SetReady(true);
  EXPECT_EQ(client.Send("GET", "/readyz").status, 200);
  Response metrics = client.Send("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("tidemark_http_requests_total{path=\"/readyz\",status=\"503\"} 1"),
            std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("tidemark_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.body.find("tidemark_gateway_inflight_bytes 0"), std::string::npos);
  Response missing = client.Send("GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"not_found","message":"no such endpoint: /nope"})");
  EXPECT_EQ(client.Send("GET", "/v1/batch").status, 405);
}

TEST_F(GatewayTest, AddedRoutesCheckScopes) {
  Start();
  gateway_->AddRoute("GET", "/v1/query", "read", [](const HttpRequest& req) {
    HttpResponse r;
    r.body = "{\"metric\":\"" + req.query.find("metric")->second + "\",\"source\":\"" + req.key->source + "\"}";
    return r;
  });
  gateway_->AddRoute("POST", "/v1/echo", "", [](const HttpRequest& req) {
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = req.body;
    return r;
  });
  gateway_->AddRoute("GET", "/v1/throws", "", [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("boom");
  });
  HttpClient client(gateway_->port());
  EXPECT_EQ(client.Send("GET", "/v1/query?metric=events").status, 401);
  Response forbidden = client.Send("GET", "/v1/query?metric=events", "", Auth(write_key_));
  EXPECT_EQ(forbidden.status, 403);
  Response ok = client.Send("GET", "/v1/query?metric=sum%3Aprice", "", Auth(read_key_));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"metric":"sum:price","source":"analyst"})");
  Response echo = client.Send("POST", "/v1/echo", Gzip("hello"), {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(echo.body, "hello");
  Response thrown = client.Send("GET", "/v1/throws");
  EXPECT_EQ(thrown.status, 500);
  EXPECT_EQ(thrown.body, R"({"error":"internal","message":"handler failed: boom"})");
}

// Scope by method, as the schema registry decides it: changes need admin, lookups read.
std::string RegistryLikeScope(std::string_view method, std::string_view) {
  return method == "GET" ? "read" : "admin";
}

TEST_F(GatewayTest, PrefixRoutesDecideTheScopePerRequestAndCheckKeysBeforeTheHandler) {
  Start();
  const std::string admin_key = keys_->Create("ops", "server", {"admin"})->first;
  std::atomic<int> handled{0};
  gateway_->AddPrefixRoute("/subjects", RegistryLikeScope, [&handled](const HttpRequest& req) {
    ++handled;
    HttpResponse r;
    r.body = req.method + " " + req.path + " " + req.key->source;
    return r;
  });
  gateway_->AddPrefixRoute("/subjects/special", RegistryLikeScope, [](const HttpRequest&) {
    HttpResponse r;
    r.body = "longer prefix";
    return r;
  });
  gateway_->AddRoute("GET", "/subjects/exact", "", [](const HttpRequest&) {
    HttpResponse r;
    r.body = "exact route";
    return r;
  });
  HttpClient client(gateway_->port());

  Response none = client.Send("GET", "/subjects/page_view-value/versions");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(ErrorOf(none), "unauthorized");
  EXPECT_EQ(client.Send("GET", "/subjects", "", Auth("tmk_nope")).status, 401);
  Response write_only = client.Send("GET", "/subjects", "", Auth(write_key_));
  EXPECT_EQ(write_only.status, 403);
  EXPECT_EQ(write_only.body, R"({"error":"forbidden","message":"this key lacks the 'read' scope"})");
  Response read_post = client.Send("POST", "/subjects/page_view-value/versions", "{}", Auth(read_key_));
  EXPECT_EQ(read_post.status, 403);
  EXPECT_EQ(read_post.body, R"({"error":"forbidden","message":"this key lacks the 'admin' scope"})");
  EXPECT_EQ(handled.load(), 0) << "no refused request may reach the handler";

  Response read = client.Send("GET", "/subjects/page_view-value/versions?x=1", "", Auth(read_key_));
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, "GET /subjects/page_view-value/versions analyst");
  Response admin_post = client.Send("POST", "/subjects/page_view-value/versions", "{}", Auth(admin_key));
  EXPECT_EQ(admin_post.body, "POST /subjects/page_view-value/versions ops");
  EXPECT_EQ(client.Send("GET", "/subjects", "", Auth(admin_key)).body, "GET /subjects ops") << "admin also reads";
  EXPECT_EQ(handled.load(), 3);

  EXPECT_EQ(client.Send("GET", "/subjects/special/x", "", Auth(read_key_)).body, "longer prefix");
  EXPECT_EQ(client.Send("GET", "/subjects/exact").body, "exact route");
  EXPECT_EQ(client.Send("GET", "/subjectsx", "", Auth(read_key_)).status, 404) << "a prefix matches whole segments";

  // Metrics label a prefix route by its prefix, not by paths that carry subject names.
  std::string metrics = client.Send("GET", "/metrics").body;
  EXPECT_NE(metrics.find("tidemark_http_requests_total{path=\"/subjects\",status=\"200\"} 3"), std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("page_view-value"), std::string::npos);
}

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

TEST_F(GatewayTest, BasicCredentialsCarryTheKeyAsUserName) {
  Start();
  gateway_->AddRoute("GET", "/config", "read", [](const HttpRequest& req) {
    HttpResponse r;
    r.body = req.key->source;
    return r;
  });
  HttpClient client(gateway_->port());
  auto basic = [](std::string_view credentials) {
    return std::map<std::string, std::string>{{"Authorization", "Basic " + Base64(credentials)}};
  };
  Response ok = client.Send("GET", "/config", "", basic(read_key_ + ":ignored-password"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "analyst");
  EXPECT_EQ(client.Send("GET", "/config", "", basic(read_key_ + ":")).status, 200);
  EXPECT_EQ(client.Send("GET", "/config", "", {{"Authorization", "bAsIc  " + Base64(read_key_ + ":x")}}).status, 200)
      << "the scheme is case-insensitive";
  EXPECT_EQ(client.Send("GET", "/config", "", basic(write_key_ + ":x")).status, 403);
  EXPECT_EQ(client.Send("GET", "/config", "", basic("tmk_nope:x")).status, 401);
  EXPECT_EQ(client.Send("GET", "/config", "", basic(":" + read_key_)).status, 401) << "the key is the user name";
  EXPECT_EQ(client.Send("GET", "/config", "", {{"Authorization", "Basic not*base"}}).status, 401);
  EXPECT_EQ(client.Send("GET", "/config", "", {{"Authorization", "Basic "}}).status, 401);
  EXPECT_EQ(client.Send("GET", "/config", "", {{"Authorization", "Digest " + read_key_}}).status, 401);

  // Segment-style SDKs send the write key the same way.
  Response batch = client.Send("POST", "/v1/batch", "[" + Event("alice") + "]", basic(write_key_ + ":"));
  EXPECT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(client.Send("POST", "/v1/batch", "[]", basic(read_key_ + ":")).status, 403);
}

TEST_F(GatewayTest, ListenerWithoutBatchServesOnlyItsRoutes) {
  Start();
  GatewayDeps deps;
  deps.config = &config_;
  deps.keys = keys_.get();
  deps.metrics = &metrics_;
  GatewayOptions options;
  options.serve_batch = false;
  options.io_threads = 1;
  options.name = "registry";
  auto second = StartGateway("127.0.0.1:0", deps, options);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  (*second)->AddPrefixRoute("/schemas", RegistryLikeScope, [](const HttpRequest&) { return HttpResponse{}; });
  HttpClient client((*second)->port());
  Response batch = client.Send("POST", "/v1/batch", "[" + Event("alice") + "]", Auth(write_key_));
  EXPECT_EQ(batch.status, 404);
  EXPECT_EQ(batch.body, R"({"error":"not_found","message":"no such endpoint: /v1/batch"})");
  EXPECT_EQ(client.Send("GET", "/schemas/ids/1", "", Auth(read_key_)).status, 200);
  EXPECT_EQ(log_.append_calls(), 0u);
  (*second)->Stop();
}

TEST_F(GatewayTest, HostileRequestsGetErrorsNotCrashes) {
  Start();
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), gateway_->port()});
    std::string junk = "NOT HTTP AT ALL\r\n\r\n";
    boost::asio::write(s, boost::asio::buffer(junk));
    std::string reply(4096, '\0');
    boost::system::error_code ec;
    size_t n = s.read_some(boost::asio::buffer(reply), ec);
    EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 400") << reply.substr(0, n);
  }
  Response bad_types = PostBatch(R"({"batch":[1,"two",null,[]]})");
  EXPECT_EQ(bad_types.status, 200);
  EXPECT_NE(bad_types.body.find(R"("rejected":4)"), std::string::npos) << bad_types.body;
  EXPECT_EQ(PostBatch(std::string("\xff\xfe[]", 4)).status, 400);
  EXPECT_EQ(PostBatch("").status, 400);
  EXPECT_EQ(HttpClient(gateway_->port()).Send("GET", "/healthz").status, 200);
}

TEST_F(GatewayTest, KeysJsonNeverContainsTheSecret) {
  Start();
  auto text = ReadFileToString((dir_ / "keys.json").string());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find(write_key_), std::string::npos);
  EXPECT_EQ(text->find(read_key_), std::string::npos);
  EXPECT_NE(text->find(Sha256Hex(write_key_)), std::string::npos);
}

}  // namespace
}  // namespace tidemark::gateway
