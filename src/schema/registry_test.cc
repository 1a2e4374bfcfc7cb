#include "schema/registry.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "schema/testing_log_internal.h"

namespace tidemark::schema {
namespace {

std::string Load(const std::string& name) {
  std::ifstream in(std::string(TIDEMARK_SCHEMAS_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { registry_ = Registry::Open(log_).value(); }
  testing::InMemoryLog log_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, VersionsGrowAndIdenticalSchemasShareAnId) {
  auto v1 = registry_->Register("page_view-value", Load("page_view/v1.avsc"));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->id, 1);
  EXPECT_EQ(v1->version, 1);
  auto v2 = registry_->Register("page_view-value", Load("page_view/v2.avsc"));
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->id, 2);
  EXPECT_EQ(v2->version, 2);
  // The same schema again, reformatted: no new version.
  auto again = registry_->Register("page_view-value", "  " + Load("page_view/v1.avsc") + "\n");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, 1);
  EXPECT_EQ(again->version, 1);
  // The same schema under another subject: same id, that subject's version 1.
  auto other = registry_->Register("page_view_copy-value", Load("page_view/v1.avsc"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->id, 1);
  EXPECT_EQ(other->version, 1);
  EXPECT_EQ(registry_->Subjects(), (std::vector<std::string>{"page_view-value", "page_view_copy-value"}));
  EXPECT_EQ(registry_->Versions("page_view-value").value(), (std::vector<int>{1, 2}));
  EXPECT_EQ(registry_->GetVersion("page_view-value", kLatestVersion)->version, 2);
  EXPECT_EQ(registry_->SubjectVersionsOfId(1),
            (std::vector<std::pair<std::string, int>>{{"page_view-value", 1}, {"page_view_copy-value", 1}}));
}

TEST_F(RegistryTest, IncompatibleSchemaIsRefusedNamingTheField) {
  for (auto* f : {"page_view/v1.avsc", "page_view/v2.avsc", "page_view/v3.avsc"}) {
    ASSERT_TRUE(registry_->Register("page_view-value", Load(f)).ok()) << f;
  }
  auto v4 = registry_->Register("page_view-value", Load("page_view/v4_breaking.avsc"));
  ASSERT_FALSE(v4.ok());
  EXPECT_EQ(v4.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(v4.status().message(),
            "Schema being registered is incompatible with an earlier schema for subject 'page_view-value' "
            "(BACKWARD_TRANSITIVE): field 'context.geo_lat': reader type double cannot read null from writer "
            "version 3; reader field 'context.geo_lat' has no default and is missing from writer version 2");
  EXPECT_EQ(registry_->Versions("page_view-value").value().size(), 3u);
  // With the subject's mode set to NONE it goes in.
  ASSERT_TRUE(registry_->SetSubjectCompatibility("page_view-value", CompatibilityMode::kNone).ok());
  EXPECT_TRUE(registry_->Register("page_view-value", Load("page_view/v4_breaking.avsc")).ok());
}

TEST_F(RegistryTest, EventSchemasWithoutTheEnvelopeAreRefused) {
  auto r = registry_->Register("click-value",
                               R"({"type":"record","name":"C","fields":[{"name":"event_type","type":"string"},
                                  {"name":"user_id","type":"string"}]})");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "invalid schema: event schema lacks the required envelope field 'timestamp'");
  r = registry_->Register("click-value",
                          R"({"type":"record","name":"C","fields":[{"name":"event_type","type":"string"},
                             {"name":"timestamp","type":"long"}]})");
  EXPECT_EQ(r.status().message(),
            "invalid schema: event schema lacks the required envelope field 'user_id' or 'anonymous_id'");
  r = registry_->Register("click-value",
                          R"({"type":"record","name":"C","fields":[{"name":"event_type","type":"string"},
                             {"name":"timestamp","type":"string"},{"name":"anonymous_id","type":"string"}]})");
  EXPECT_EQ(r.status().message(),
            "invalid schema: field 'timestamp': envelope field must be long (timestamp-millis)");
  // Subjects that are not event values (keys, say) only need a valid Avro schema.
  EXPECT_TRUE(registry_->Register("click-key", R"("string")").ok());
  EXPECT_EQ(registry_->Register("click-key", R"({"type":"nope"})").status().message(),
            "invalid schema: schema: unknown type 'nope'");
}

TEST_F(RegistryTest, StateIsRebuiltByReplayAfterRestart) {
  ASSERT_TRUE(registry_->Register("page_view-value", Load("page_view/v1.avsc")).ok());
  ASSERT_TRUE(registry_->Register("page_view-value", Load("page_view/v2.avsc")).ok());
  ASSERT_TRUE(registry_->Register("checkout-value", Load("checkout.avsc")).ok());
  ASSERT_TRUE(registry_->SetGlobalCompatibility(CompatibilityMode::kFull).ok());
  ASSERT_TRUE(registry_->SetSubjectCompatibility("checkout-value", CompatibilityMode::kNone).ok());
  registry_.reset();  // restart

  auto reopened = Registry::Open(log_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  Registry& r = **reopened;
  EXPECT_EQ(r.Subjects(), (std::vector<std::string>{"checkout-value", "page_view-value"}));
  EXPECT_EQ(r.Versions("page_view-value").value(), (std::vector<int>{1, 2}));
  EXPECT_EQ(r.GetVersion("checkout-value", 1)->id, 3);
  EXPECT_EQ(r.SchemaById(2).value()->text(), Load("page_view/v2.avsc"));
  EXPECT_EQ(r.GlobalCompatibility(), CompatibilityMode::kFull);
  EXPECT_EQ(r.SubjectCompatibility("checkout-value"), CompatibilityMode::kNone);
  EXPECT_EQ(r.SubjectCompatibility("page_view-value"), std::nullopt);
  // Ids continue after the replayed ones.
  auto v3 = r.Register("page_view-value", Load("page_view/v3.avsc"));
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->id, 4);
  EXPECT_EQ(v3->version, 3);
}

TEST_F(RegistryTest, ASecondRegistryOnTheSameLogCatchesUp) {
  auto other = Registry::Open(log_).value();
  ASSERT_TRUE(registry_->Register("page_view-value", Load("page_view/v1.avsc")).ok());
  EXPECT_FALSE(other->HasSubject("page_view-value"));
  ASSERT_TRUE(other->CatchUp().ok());
  EXPECT_TRUE(other->HasSubject("page_view-value"));
  // Registering through the other one first catches up, so ids and versions do not clash.
  auto v2 = other->Register("page_view-value", Load("page_view/v2.avsc"));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->id, 2);
  EXPECT_EQ(v2->version, 2);
}

TEST_F(RegistryTest, GenerationMovesWithEveryChange) {
  uint64_t g0 = registry_->generation();
  ASSERT_TRUE(registry_->Register("page_view-value", Load("page_view/v1.avsc")).ok());
  uint64_t g1 = registry_->generation();
  EXPECT_GT(g1, g0);
  ASSERT_TRUE(registry_->Register("page_view-value", Load("page_view/v1.avsc")).ok());  // no change
  EXPECT_EQ(registry_->generation(), g1);
  ASSERT_TRUE(registry_->SetGlobalCompatibility(CompatibilityMode::kFull).ok());
  EXPECT_GT(registry_->generation(), g1);
}

TEST_F(RegistryTest, AFailedAppendChangesNothing) {
  log_.set_fail_appends(true);
  auto r = registry_->Register("page_view-value", Load("page_view/v1.avsc"));
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "_schemas: append failed: in-memory log: appends are failing");
  EXPECT_FALSE(registry_->HasSubject("page_view-value"));
  EXPECT_EQ(registry_->SetGlobalCompatibility(CompatibilityMode::kNone).code(), StatusCode::kUnavailable);
  EXPECT_EQ(registry_->GlobalCompatibility(), CompatibilityMode::kBackwardTransitive);
  log_.set_fail_appends(false);
  EXPECT_EQ(registry_->Register("page_view-value", Load("page_view/v1.avsc"))->id, 1);
}

TEST_F(RegistryTest, CorruptRecordInTheTopicFailsOpenWithItsOffset) {
  ASSERT_TRUE(registry_->Register("page_view-value", Load("page_view/v1.avsc")).ok());
  log_.Plant(log::kSchemas, R"({"keytype":"SCHEMA","subject":"x","version":1,"magic":1})", "not json");
  auto r = Registry::Open(log_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(r.status().message(), "_schemas offset 1: schema value lacks subject, version, id or schema");
}

TEST_F(RegistryTest, LookupFindsTheVersionOfASchema) {
  ASSERT_TRUE(registry_->Register("page_view-value", Load("page_view/v1.avsc")).ok());
  ASSERT_TRUE(registry_->Register("page_view-value", Load("page_view/v2.avsc")).ok());
  auto found = registry_->Lookup("page_view-value", Load("page_view/v2.avsc"));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->version, 2);
  EXPECT_EQ(registry_->Lookup("page_view-value", Load("page_view/v3.avsc")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(registry_->Lookup("nope-value", Load("page_view/v3.avsc")).status().message(),
            "subject 'nope-value' not found");
}

}  // namespace
}  // namespace tidemark::schema
