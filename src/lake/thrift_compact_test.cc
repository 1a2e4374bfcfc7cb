#include <gtest/gtest.h>

#include "lake/thrift_compact_internal.h"

namespace tidemark::lake {
namespace {

TEST(ThriftCompact, FieldsRoundTripIncludingLongFieldDeltasAndLongLists) {
  std::string out;
  CompactWriter w(&out);
  w.BeginStruct();
  w.FieldI32(1, -7);
  w.FieldI64(2, int64_t{1} << 40);
  w.FieldBool(3, true);
  w.FieldBool(4, false);
  w.FieldBinary(5, "hello");
  w.FieldDouble(6, 2.5);
  w.FieldI16(30, 300);                     // delta 24 > 15: long-form field header
  w.FieldList(31, CompactType::kI32, 20);  // 20 >= 15: size in a varint
  for (int i = 0; i < 20; ++i) w.ListI32(i - 10);
  w.FieldStruct(32);
  w.BeginStruct();
  w.FieldI8(1, -3);
  w.EndStruct();
  w.EndStruct();

  CompactReader r(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  r.BeginStruct();
  int16_t id;
  CompactType type;
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(id, 1);
  EXPECT_EQ(r.ReadI32(), -7);
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(r.ReadI64(), int64_t{1} << 40);
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_TRUE(CompactReader::BoolFromFieldType(type));
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(id, 4);
  EXPECT_FALSE(CompactReader::BoolFromFieldType(type));
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(r.ReadBinary(), "hello");
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(r.ReadDouble(), 2.5);
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(id, 30);
  EXPECT_EQ(type, CompactType::kI16);
  EXPECT_EQ(r.ReadI32(), 300);
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(id, 31);
  CompactType element;
  ASSERT_EQ(r.ReadListHeader(&element), 20u);
  EXPECT_EQ(element, CompactType::kI32);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(r.ReadI32(), i - 10);
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(id, 32);
  r.BeginStruct();
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(r.ReadI8(), -3);
  EXPECT_FALSE(r.NextField(&id, &type));
  r.EndStruct();
  EXPECT_FALSE(r.NextField(&id, &type));
  r.EndStruct();
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.position(), out.size());
}

TEST(ThriftCompact, SkipsUnknownNestedFields) {
  std::string out;
  CompactWriter w(&out);
  w.BeginStruct();
  w.FieldStruct(1);
  w.BeginStruct();
  w.FieldList(1, CompactType::kBinary, 2);
  w.ListBinary("a");
  w.ListBinary("bc");
  w.FieldBool(2, true);
  w.EndStruct();
  w.FieldI32(2, 42);
  w.EndStruct();

  CompactReader r(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  r.BeginStruct();
  int16_t id;
  CompactType type;
  ASSERT_TRUE(r.NextField(&id, &type));
  r.Skip(type);
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(id, 2);
  EXPECT_EQ(r.ReadI32(), 42);
  EXPECT_FALSE(r.NextField(&id, &type));
  EXPECT_TRUE(r.ok()) << r.error();
}

TEST(ThriftCompact, TruncatedInputFailsWithoutReadingPastTheEnd) {
  std::string out;
  CompactWriter w(&out);
  w.BeginStruct();
  w.FieldBinary(1, "a string that will be cut");
  w.EndStruct();
  CompactReader r(reinterpret_cast<const uint8_t*>(out.data()), 6);
  r.BeginStruct();
  int16_t id;
  CompactType type;
  ASSERT_TRUE(r.NextField(&id, &type));
  EXPECT_EQ(r.ReadBinary(), "");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("runs past the end"), std::string::npos) << r.error();
}

TEST(ThriftCompact, ListCountLargerThanInputIsRejected) {
  // List header claiming 2^32-1 i32 elements in a 7-byte buffer.
  const uint8_t bytes[] = {0xf5, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
  CompactReader r(bytes, sizeof bytes);
  CompactType element;
  EXPECT_EQ(r.ReadListHeader(&element), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("exceeds remaining bytes"), std::string::npos) << r.error();
}

TEST(ThriftCompact, DeeplyNestedStructsAreRefused) {
  std::string bytes;
  for (int i = 0; i < 200; ++i) bytes.push_back(static_cast<char>(0x1c));  // field 1, struct
  CompactReader r(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  r.Skip(CompactType::kStruct);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("nesting deeper"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace tidemark::lake
