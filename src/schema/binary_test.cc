// The Avro binary reader's varints (BinaryReader::ReadLong), at every length and at the end
// of the data as well as before more of it.
#include "schema/binary_internal.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace tidemark::schema::internal {
namespace {

std::vector<int64_t> Boundaries() {
  std::vector<int64_t> values = {0, -1, 1, 63, -64, 64, -65, std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min(), 1'764'000'000'000, -1'764'000'000'000};
  for (int bits = 6; bits < 63; bits += 7) {  // where a varint grows by a byte
    const int64_t edge = int64_t{1} << bits;
    for (const int64_t v : {edge - 1, edge, -edge, -edge - 1}) values.push_back(v);
  }
  return values;
}

TEST(BinaryReader, ReadsVarLongsOfEveryLengthWithOrWithoutBytesAfter) {
  for (const int64_t v : Boundaries()) {
    for (const size_t after : {size_t{0}, size_t{1}, size_t{7}, size_t{9}}) {
      std::string data;
      AppendVarLong(v, &data);
      const size_t length = data.size();
      data.append(after, '\x80');  // continuation bytes: never part of the value read
      BinaryReader reader(data);
      int64_t read = 0;
      ASSERT_TRUE(reader.ReadLong(&read)) << v << " with " << after << " bytes after";
      EXPECT_EQ(read, v) << "with " << after << " bytes after";
      EXPECT_EQ(reader.remaining(), after) << v << ": " << length << " bytes read";
    }
  }
}

TEST(BinaryReader, RefusesAVarLongCutShortOrLongerThanTenBytes) {
  for (const int64_t v : Boundaries()) {
    std::string data;
    AppendVarLong(v, &data);
    for (size_t cut = 0; cut < data.size(); ++cut) {
      BinaryReader reader(std::string_view(data).substr(0, cut));
      int64_t read;
      EXPECT_FALSE(reader.ReadLong(&read)) << v << " cut to " << cut << " bytes";
    }
  }
  const std::string endless(16, '\xff');
  BinaryReader reader(endless);
  int64_t read;
  EXPECT_FALSE(reader.ReadLong(&read));
}

}  // namespace
}  // namespace tidemark::schema::internal
