#include "stream/dedup_filter.h"

#include <cctype>

#include <gtest/gtest.h>

#include "common/hashing.h"

namespace tidemark::stream {
namespace {

constexpr int64_t kMinute = 60'000;
uint64_t CollideEverything(std::string_view) { return 0x1234; }

TEST(DedupFilter, SecondSightingIsDuplicate) {
  DedupFilter f(DedupFilter::Options{});
  for (std::string id : {"0123456789abcdef0123456789abcdef", "550e8400-e29b-41d4-a716-446655440000",
                         "550E8400-E29B-41D4-A716-446655440000", "my-custom-id-7", "x"}) {
    EXPECT_EQ(f.CheckAndInsert(id, 1000), DedupResult::kNew) << id;
    EXPECT_EQ(f.CheckAndInsert(id, 2000), DedupResult::kDuplicate) << id;
  }
  EXPECT_EQ(f.size(), 5u);
}

TEST(DedupFilter, ForcedHashCollisionsNeverDropNewEvents) {
  // Every id hashes to the same value: placement collides and, for free-form ids, the
  // stored 64-bit hash matches too. Only the full-id comparison tells them apart.
  DedupFilter f(DedupFilter::Options{3600'000, 1000, &CollideEverything});
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) ids.push_back("free-form-" + std::to_string(i));
  for (int i = 0; i < 10; ++i) ids.push_back("0123456789abcdef0123456789abcd" + std::to_string(10 + i));
  ids.push_back("0123456789ABCDEF0123456789ABCD10");  // same digits, other case: another id
  for (int i = 0; i < 10; ++i) ids.push_back("0123456789abcdef-012345" + std::to_string(10 + i));
  ids.push_back("0123456789ABCDEF-01234510");  // load-generator shape, other case
  for (const auto& id : ids) EXPECT_EQ(f.CheckAndInsert(id, 1000), DedupResult::kNew) << id;
  for (const auto& id : ids) EXPECT_EQ(f.CheckAndInsert(id, 1000), DedupResult::kDuplicate) << id;
  EXPECT_EQ(f.size(), ids.size());
}

TEST(DedupFilter, ColdIdsExpireAfterTtlAndNotBefore) {
  DedupFilter f(DedupFilter::Options{10 * kMinute, 1000, nullptr});
  const int64_t t0 = 1'775'800'800'000;
  ASSERT_EQ(f.CheckAndInsert("a", t0 + 30'000), DedupResult::kNew);
  // Still inside the TTL (by received_at): duplicate.
  EXPECT_EQ(f.CheckAndInsert("a", t0 + 30'000 + 10 * kMinute - 1), DedupResult::kDuplicate);
  // Well past the TTL: forgotten, so the same id is new again.
  f.AdvanceTime(t0 + 12 * kMinute);
  EXPECT_EQ(f.size(), 0u);
  EXPECT_EQ(f.CheckAndInsert("a", t0 + 12 * kMinute), DedupResult::kNew);
}

TEST(DedupFilter, FullFilterAnswersFullAndKeepsWhatItHas) {
  DedupFilter f(DedupFilter::Options{3600'000, 3, nullptr});
  EXPECT_EQ(f.CheckAndInsert("a", 1), DedupResult::kNew);
  EXPECT_EQ(f.CheckAndInsert("b", 1), DedupResult::kNew);
  EXPECT_EQ(f.CheckAndInsert("c", 1), DedupResult::kNew);
  EXPECT_EQ(f.CheckAndInsert("d", 1), DedupResult::kFull);
  EXPECT_EQ(f.CheckAndInsert("a", 1), DedupResult::kDuplicate);
  EXPECT_EQ(f.CheckAndInsert("d", 1), DedupResult::kFull);  // still not taken
}

TEST(DedupFilter, ManyIdsStayExactAndCompact) {
  DedupFilter f(DedupFilter::Options{3600'000, 10'000'000, nullptr});
  const int n = 300'000;
  for (int i = 0; i < n; ++i) {
    char id[40];
    snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(Hash64(std::to_string(i))),
             static_cast<unsigned long long>(i));
    ASSERT_EQ(f.CheckAndInsert(id, 1000), DedupResult::kNew) << i;
  }
  EXPECT_EQ(f.size(), static_cast<size_t>(n));
  EXPECT_LE(f.BytesPerKey(), 24.5);
  char id[40];
  snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(Hash64("77")), 77ULL);
  EXPECT_EQ(f.CheckAndInsert(id, 1000), DedupResult::kDuplicate);
}

TEST(DedupFilter, LoadgenShapedIdsStayExactAndCompact) {
  // "<16 hex>-<8 hex>", as src/cli/loadgen.cc makes them: packed into 96 bits, not the arena.
  DedupFilter f(DedupFilter::Options{3600'000, 10'000'000, nullptr});
  const int n = 300'000;
  auto id_of = [](int i) {
    char id[40];
    snprintf(id, sizeof id, "%016llx-%08x", 0x9E3779B97F4A7C15ULL ^ static_cast<unsigned long long>(i),
             static_cast<unsigned>(i));
    return std::string(id);
  };
  for (int i = 0; i < n; ++i) ASSERT_EQ(f.CheckAndInsert(id_of(i), 1000), DedupResult::kNew) << i;
  EXPECT_EQ(f.size(), static_cast<size_t>(n));
  EXPECT_LE(f.BytesPerKey(), 24.5);
  EXPECT_EQ(f.CheckAndInsert(id_of(77), 1000), DedupResult::kDuplicate);
  // Near misses of the shape are other ids, never mistaken for a packed one.
  std::string dashless = id_of(5);
  dashless[16] = '0';
  EXPECT_EQ(f.CheckAndInsert(dashless, 1000), DedupResult::kNew);
  std::string upper = id_of(6);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(f.CheckAndInsert(upper, 1000), DedupResult::kNew);
  EXPECT_EQ(f.CheckAndInsert(upper, 1000), DedupResult::kDuplicate);
}

TEST(DedupFilter, RestoreKeepsEveryIdAndTheClock) {
  DedupFilter f(DedupFilter::Options{3600'000, 1000, &CollideEverything});
  for (int i = 0; i < 20; ++i) ASSERT_EQ(f.CheckAndInsert("id" + std::to_string(i), 5000), DedupResult::kNew);
  ASSERT_EQ(f.CheckAndInsert("550e8400-e29b-41d4-a716-446655440000", 5000), DedupResult::kNew);
  ASSERT_EQ(f.CheckAndInsert("9e3779b97f4a7c15-0000002a", 5000), DedupResult::kNew);
  std::string bytes;
  f.AppendTo(&bytes);
  DedupFilter g(DedupFilter::Options{3600'000, 1000, &CollideEverything});
  ASSERT_TRUE(g.Restore(bytes).ok());
  EXPECT_EQ(g.size(), 22u);
  EXPECT_EQ(g.clock_ms(), 5000);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(g.CheckAndInsert("id" + std::to_string(i), 5000), DedupResult::kDuplicate);
  EXPECT_EQ(g.CheckAndInsert("550e8400-e29b-41d4-a716-446655440000", 5000), DedupResult::kDuplicate);
  EXPECT_EQ(g.CheckAndInsert("9e3779b97f4a7c15-0000002a", 5000), DedupResult::kDuplicate);
  EXPECT_EQ(g.CheckAndInsert("id-new", 5000), DedupResult::kNew);
  Status bad = g.Restore(std::string_view(bytes).substr(0, bytes.size() - 3));
  EXPECT_EQ(bad.code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace tidemark::stream
