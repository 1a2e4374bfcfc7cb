#include "common/config.h"

#include <gtest/gtest.h>

namespace tidemark {
namespace {

TEST(ConfigTest, DefaultsFromTheTable) {
  Config c;
  EXPECT_EQ(c.GetInt("topics.user_events.partitions"), 8);
  EXPECT_EQ(c.GetString("server.listen"), "127.0.0.1:8080");
  EXPECT_TRUE(c.GetBool("log.fsync"));
}

TEST(ConfigTest, TomlThenSetOverride) {
  Config c;
  ASSERT_TRUE(c.LoadTomlString(R"(
[gateway]
io_threads = 3
rate_limit_events_per_second = 12.5
[[keys]]
key = "wk_test"
source = "web-site"
platform = "web"
scopes = ["write", "read"]
)").ok());
  EXPECT_EQ(c.GetInt("gateway.io_threads"), 3);
  EXPECT_DOUBLE_EQ(c.GetDouble("gateway.rate_limit_events_per_second"), 12.5);
  ASSERT_EQ(c.configured_keys().size(), 1u);
  EXPECT_EQ(c.configured_keys()[0].scopes.size(), 2u);
  ASSERT_TRUE(c.SetAssignment("gateway.io_threads=5").ok());
  EXPECT_EQ(c.GetInt("gateway.io_threads"), 5);
}

TEST(ConfigTest, UnknownOrIllTypedSettingsAreRefusedByName) {
  Config c;
  Status s = c.SetAssignment("gateway.no_such=1");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "unknown setting 'gateway.no_such'");
  s = c.Set("gateway.io_threads", "many");
  EXPECT_EQ(s.message(), "setting gateway.io_threads takes an integer, got 'many'");
  s = c.LoadTomlString("[log]\nfsync = 3\n", "t.toml");
  EXPECT_EQ(s.message(), "t.toml: setting log.fsync takes true or false, got '3'");
}

TEST(ConfigTest, DumpRoundTrips) {
  Config a;
  ASSERT_TRUE(a.Set("server.listen", "0.0.0.0:9000").ok());
  Config b;
  ASSERT_TRUE(b.LoadTomlString(a.DumpToml()).ok());
  EXPECT_EQ(b.GetString("server.listen"), "0.0.0.0:9000");
}

}  // namespace
}  // namespace tidemark
