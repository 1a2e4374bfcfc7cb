#include "schema/registry_http.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/testing_log_internal.h"

namespace tidemark::schema {
namespace {

using nlohmann::json;

std::string Load(const std::string& name) {
  std::ifstream in(std::string(TIDEMARK_SCHEMAS_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string SchemaBody(const std::string& file) { return json{{"schema", Load(file)}}.dump(); }

class RegistryHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = Registry::Open(log_).value();
    handler_ = RegistryDispatcher(*registry_);
  }
  gateway::HttpResponse Call(std::string method, std::string path, std::string body = "",
                             std::multimap<std::string, std::string> query = {}) {
    gateway::HttpRequest req;
    req.method = std::move(method);
    req.path = path;
    req.target = path;
    req.query = std::move(query);
    req.body = std::move(body);
    req.headers["content-type"] = std::string(kRegistryContentType);
    gateway::HttpResponse resp = handler_(req);
    EXPECT_EQ(resp.content_type, kRegistryContentType);
    return resp;
  }
  // Asserts the status and Confluent error code of an error answer.
  void ExpectError(const gateway::HttpResponse& resp, int status, int error_code) {
    EXPECT_EQ(resp.status, status) << resp.body;
    json body = json::parse(resp.body);
    EXPECT_EQ(body["error_code"], error_code) << resp.body;
    EXPECT_TRUE(body["message"].is_string());
  }
  testing::InMemoryLog log_;
  std::unique_ptr<Registry> registry_;
  gateway::RouteHandler handler_;
};

TEST_F(RegistryHttpTest, RegisterThenReadBackAsConfluentClientsExpect) {
  auto r = Call("POST", "/subjects/page_view-value/versions",
                json{{"schema", Load("page_view/v1.avsc")}, {"schemaType", "AVRO"}}.dump());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"id":1})"));
  r = Call("POST", "/subjects/page_view-value/versions", SchemaBody("page_view/v2.avsc"));
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"id":2})"));

  EXPECT_EQ(json::parse(Call("GET", "/subjects").body), json::parse(R"(["page_view-value"])"));
  EXPECT_EQ(json::parse(Call("GET", "/subjects/page_view-value/versions").body), json::parse("[1,2]"));
  json latest = json::parse(Call("GET", "/subjects/page_view-value/versions/latest").body);
  EXPECT_EQ(latest["subject"], "page_view-value");
  EXPECT_EQ(latest["version"], 2);
  EXPECT_EQ(latest["id"], 2);
  EXPECT_EQ(latest["schema"], Load("page_view/v2.avsc"));
  EXPECT_EQ(json::parse(Call("GET", "/subjects/page_view-value/versions/1").body)["id"], 1);
  EXPECT_EQ(json::parse(Call("GET", "/schemas/ids/1").body)["schema"], Load("page_view/v1.avsc"));
  EXPECT_EQ(Call("GET", "/subjects/page_view-value/versions/1/schema").body, Load("page_view/v1.avsc"));
  EXPECT_EQ(json::parse(Call("GET", "/schemas/ids/2/versions").body),
            json::parse(R"([{"subject":"page_view-value","version":2}])"));
  json lookup = json::parse(Call("POST", "/subjects/page_view-value", SchemaBody("page_view/v1.avsc")).body);
  EXPECT_EQ(lookup["version"], 1);
  EXPECT_EQ(lookup["id"], 1);
  EXPECT_EQ(json::parse(Call("GET", "/schemas/types").body), json::parse(R"(["AVRO"])"));
}

TEST_F(RegistryHttpTest, NotFoundErrorsUseConfluentCodes) {
  ExpectError(Call("GET", "/subjects/nope-value/versions"), 404, 40401);
  ExpectError(Call("GET", "/subjects/nope-value/versions/1"), 404, 40401);
  ExpectError(Call("POST", "/subjects/nope-value", SchemaBody("page_view/v1.avsc")), 404, 40401);
  ASSERT_EQ(Call("POST", "/subjects/page_view-value/versions", SchemaBody("page_view/v1.avsc")).status, 200);
  ExpectError(Call("GET", "/subjects/page_view-value/versions/7"), 404, 40402);
  ExpectError(Call("GET", "/schemas/ids/99"), 404, 40403);
  ExpectError(Call("POST", "/subjects/page_view-value", SchemaBody("page_view/v3.avsc")), 404, 40403);
  ExpectError(Call("GET", "/nothing/here"), 404, 404);
  ExpectError(Call("DELETE", "/subjects/page_view-value/versions/1"), 405, 405);
}

TEST_F(RegistryHttpTest, InvalidInputUses422Codes) {
  auto r = Call("POST", "/subjects/page_view-value/versions", json{{"schema", "{\"type\":\"record\"}"}}.dump());
  ExpectError(r, 422, 42201);
  EXPECT_EQ(json::parse(r.body)["message"],
            "Invalid schema: invalid schema: schema: record lacks a \"name\"");
  ExpectError(Call("POST", "/subjects/x-value/versions", json{{"schema", "\"int\""}, {"schemaType", "PROTOBUF"}}.dump()),
              422, 42201);
  ExpectError(Call("POST", "/subjects/x-value/versions", "not json"), 400, 400);
  ExpectError(Call("GET", "/subjects/page_view-value/versions/abc"), 422, 42202);
  ExpectError(Call("GET", "/subjects/page_view-value/versions/0"), 422, 42202);
  ExpectError(Call("PUT", "/config", R"({"compatibility":"SIDEWAYS"})"), 422, 42203);
}

TEST_F(RegistryHttpTest, IncompatibleSchemaIs409AndTheCheckListsMessages) {
  for (auto* f : {"page_view/v1.avsc", "page_view/v2.avsc", "page_view/v3.avsc"}) {
    ASSERT_EQ(Call("POST", "/subjects/page_view-value/versions", SchemaBody(f)).status, 200);
  }
  auto r = Call("POST", "/subjects/page_view-value/versions", SchemaBody("page_view/v4_breaking.avsc"));
  ExpectError(r, 409, 409);
  EXPECT_NE(json::parse(r.body)["message"].get<std::string>().find(
                "reader field 'context.geo_lat' has no default and is missing from writer version 2"),
            std::string::npos);

  r = Call("POST", "/compatibility/subjects/page_view-value/versions/2", SchemaBody("page_view/v4_breaking.avsc"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"is_compatible":false,"messages":["reader field 'context.geo_lat' has no default and is missing from writer version 2"]})"));
  r = Call("POST", "/compatibility/subjects/page_view-value/versions/latest", SchemaBody("page_view/v3.avsc"));
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"is_compatible":true,"messages":[]})"));
  ExpectError(Call("POST", "/compatibility/subjects/page_view-value/versions/9", SchemaBody("page_view/v3.avsc")), 404, 40402);
  ExpectError(Call("POST", "/compatibility/subjects/nope-value/versions/1", SchemaBody("page_view/v3.avsc")), 404, 40401);
}

TEST_F(RegistryHttpTest, ConfigIsGlobalAndPerSubject) {
  EXPECT_EQ(json::parse(Call("GET", "/config").body), json::parse(R"({"compatibilityLevel":"BACKWARD_TRANSITIVE"})"));
  auto r = Call("PUT", "/config", R"({"compatibility":"FULL"})");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"compatibility":"FULL"})"));
  EXPECT_EQ(json::parse(Call("GET", "/config").body)["compatibilityLevel"], "FULL");

  ASSERT_EQ(Call("POST", "/subjects/page_view-value/versions", SchemaBody("page_view/v1.avsc")).status, 200);
  ExpectError(Call("GET", "/config/page_view-value"), 404, 40408);
  EXPECT_EQ(json::parse(Call("GET", "/config/page_view-value", "", {{"defaultToGlobal", "true"}}).body)["compatibilityLevel"],
            "FULL");
  r = Call("PUT", "/config/page_view-value", R"({"compatibility":"NONE"})");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"compatibility":"NONE"})"));
  EXPECT_EQ(json::parse(Call("GET", "/config/page_view-value").body)["compatibilityLevel"], "NONE");
}

TEST_F(RegistryHttpTest, PercentEncodedSubjectsAreDecoded) {
  ASSERT_EQ(Call("POST", "/subjects/page%5Fview-value/versions", SchemaBody("page_view/v1.avsc")).status, 200);
  EXPECT_EQ(json::parse(Call("GET", "/subjects").body), json::parse(R"(["page_view-value"])"));
}

TEST_F(RegistryHttpTest, LogFailureIsAStoreError) {
  log_.set_fail_appends(true);
  ExpectError(Call("POST", "/subjects/page_view-value/versions", SchemaBody("page_view/v1.avsc")), 503, 50001);
}

TEST(RegistryRoutesTest, EveryRouteHasAPatternAndAScope) {
  testing::InMemoryLog log;
  auto registry = Registry::Open(log).value();
  auto routes = RegistryRoutes(*registry);
  ASSERT_GE(routes.size(), 14u);
  for (const RegistryRoute& route : routes) {
    EXPECT_TRUE(route.scope == "read" || route.scope == "admin") << route.pattern;
  }
  // A route's handler works when mounted alone.
  for (const RegistryRoute& route : routes) {
    if (route.method == "GET" && route.pattern == "/config") {
      gateway::HttpRequest req;
      req.method = "GET";
      req.path = "/config";
      EXPECT_EQ(route.handler(req).status, 200);
    }
  }
  EXPECT_EQ(RegistryScope("POST", "/subjects/a-value/versions"), "admin");
  EXPECT_EQ(RegistryScope("PUT", "/config/a-value"), "admin");
  EXPECT_EQ(RegistryScope("GET", "/subjects/a-value/versions/latest"), "read");
  EXPECT_EQ(RegistryScope("POST", "/compatibility/subjects/a-value/versions/1"), "read");
  EXPECT_EQ(RegistryScope("DELETE", "/subjects/a-value"), "read");
  EXPECT_EQ(RegistryScope("GET", "/v1/query"), "");
  EXPECT_EQ(RegistryScope("GET", "/configs"), "");
}

}  // namespace
}  // namespace tidemark::schema
