#include "gateway/key_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/files.h"
#include "common/hashing.h"

namespace tidemark::gateway {
namespace {

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tidemark_keys_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<KeyStore> Open(const Config& config = Config()) {
    auto s = KeyStore::Open(dir_.string(), config);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::filesystem::path dir_;
};

TEST_F(KeyStoreTest, SecretsLookRightAndAuthenticate) {
  auto store = Open();
  auto created = store->Create("site", "web", {"write"});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const auto& [secret, info] = *created;
  ASSERT_EQ(secret.size(), 36u);
  EXPECT_EQ(secret.substr(0, 4), "tmk_");
  for (char c : secret.substr(4)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << secret;
  auto found = store->Authenticate(secret);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, info.id);
  EXPECT_EQ(found->source, "site");
  EXPECT_TRUE(found->HasScope("write"));
  EXPECT_FALSE(found->HasScope("admin"));
  EXPECT_FALSE(store->Authenticate(secret + "x").has_value());
  EXPECT_FALSE(store->Authenticate("").has_value());
  EXPECT_NE(store->Create("site", "web", {"write"})->first, secret);
}

TEST_F(KeyStoreTest, KeysJsonHoldsTheHashNeverTheSecret) {
  auto store = Open();
  auto created = store->Create("app", "ios", {"write", "read"});
  ASSERT_TRUE(created.ok());
  auto text = ReadFileToString((dir_ / "keys.json").string());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find(created->first), std::string::npos);
  EXPECT_EQ(text->find(created->first.substr(4)), std::string::npos);
  EXPECT_NE(text->find(Sha256Hex(created->first)), std::string::npos);
  EXPECT_NE(text->find("\"source\":\"app\""), std::string::npos);
}

TEST_F(KeyStoreTest, KeysSurviveReopenAndRevocation) {
  std::string secret, id;
  {
    auto store = Open();
    auto created = store->Create("srv", "server", {"write"});
    ASSERT_TRUE(created.ok());
    secret = created->first;
    id = created->second.id;
  }
  auto reopened = Open();
  ASSERT_TRUE(reopened->Authenticate(secret).has_value());
  EXPECT_EQ(reopened->List().size(), 1u);
  ASSERT_TRUE(reopened->Revoke(id).ok());
  EXPECT_FALSE(reopened->Authenticate(secret).has_value());
  EXPECT_FALSE(Open()->Authenticate(secret).has_value());
  EXPECT_TRUE(Open()->List()[0].revoked);
  Status missing = reopened->Revoke("k_nope");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "no key with id k_nope");
}

TEST_F(KeyStoreTest, ConfigKeysAuthenticateAndAreNotPersisted) {
  Config config;
  ASSERT_TRUE(config.LoadTomlString(R"(
[[keys]]
key = "tmk_configuredkey0000000000000000000"
source = "backend"
platform = "server"
scopes = ["write", "admin"]
)").ok());
  auto store = Open(config);
  auto found = store->Authenticate("tmk_configuredkey0000000000000000000");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->source, "backend");
  EXPECT_TRUE(found->HasScope("admin"));
  EXPECT_EQ(found->id.find("configured"), std::string::npos);
  ASSERT_TRUE(store->Create("site", "web", {"write"}).ok());
  auto text = ReadFileToString((dir_ / "keys.json").string());
  EXPECT_EQ(text->find("backend"), std::string::npos);
  EXPECT_EQ(store->Revoke(found->id).code(), StatusCode::kFailedPrecondition);
}

TEST_F(KeyStoreTest, RefusesBadShapesAndCorruptFiles) {
  auto store = Open();
  EXPECT_EQ(store->Create("site", "desktop", {"write"}).status().message(),
            "key platform 'desktop' is not one of web, ios, android, server");
  EXPECT_EQ(store->Create("site", "web", {"delete"}).status().message(),
            "unknown scope 'delete' (write, read, admin)");
  ASSERT_TRUE(CreateDirectories(dir_.string()).ok());
  ASSERT_TRUE(WriteFileAtomic((dir_ / "keys.json").string(), "{not json").ok());
  auto broken = KeyStore::Open(dir_.string(), Config());
  EXPECT_EQ(broken.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace tidemark::gateway
