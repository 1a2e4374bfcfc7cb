#include "common/huge_pages.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace tidemark {
namespace {

TEST(HugeBytesTest, AppendCopiesEveryLengthExactly) {
  // Every length around the inline copies' edges (0–3, 4–7, 8–15, 16–32, memcpy beyond),
  // appended at every alignment, next to the bytes before and after it.
  std::string source;
  for (int i = 0; i < 200; ++i) source.push_back(static_cast<char>('a' + i % 26));
  HugeBytes bytes;
  std::string expected;
  for (size_t length = 0; length <= 70; ++length) {
    for (size_t at = 0; at < 9; ++at) {
      bytes.append(std::string_view(source).substr(at, length));
      expected.append(source, at, length);
      ASSERT_EQ(bytes.view(), expected) << "length " << length << " from " << at;
    }
  }
}

TEST(HugeBytesTest, GrowsPastTheHugeBlockSizeAndKeepsItsBytes) {
  HugeBytes bytes;
  std::string expected;
  const std::string value(1000, 'x');
  for (int i = 0; bytes.size() < 3 * kHugeBlockBytes; ++i) {
    const std::string v = std::to_string(i) + value.substr(0, static_cast<size_t>(i % 37));
    bytes.append(v);
    expected += v;
  }
  EXPECT_GE(bytes.capacity(), 3 * kHugeBlockBytes);
  EXPECT_EQ(bytes.view(), expected);
}

TEST(HugeBytesTest, ResizeExtendCopyMoveAndSwap) {
  HugeBytes a;
  a.append("hello");
  a.resize(3);
  EXPECT_EQ(a.view(), "hel");
  char* d = a.Extend(2);
  d[0] = 'p';
  d[1] = '!';
  a.push_back('?');
  EXPECT_EQ(a.view(), "help!?");

  HugeBytes copy(a);
  copy.append(" more");
  EXPECT_EQ(a.view(), "help!?");
  EXPECT_EQ(copy.view(), "help!? more");

  HugeBytes moved(std::move(copy));
  EXPECT_EQ(moved.view(), "help!? more");
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract

  a.swap(moved);
  EXPECT_EQ(a.view(), "help!? more");
  EXPECT_EQ(moved.view(), "help!?");
  moved = a;
  EXPECT_EQ(moved.view(), "help!? more");
  a.clear();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(moved.view(), "help!? more");
}

}  // namespace
}  // namespace tidemark
