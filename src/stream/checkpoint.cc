#include "stream/checkpoint.h"

#include <sys/stat.h>

#include <cerrno>

#include "common/files.h"
#include "common/hashing.h"
#include "stream/byte_io_internal.h"

namespace tidemark::stream {
namespace {
constexpr uint32_t kMagic = 0x4b43'4d54;  // "TMCK"
constexpr uint8_t kVersion = 1;
}  // namespace

std::string CheckpointDir(const std::string& data_dir, std::string_view topic, int partition) {
  return data_dir + "/state/" + std::string(topic) + "/" + std::to_string(partition);
}

Status WriteCheckpoint(const std::string& dir, const Checkpoint& c) {
  RETURN_IF_ERROR(CreateDirectories(dir));
  std::string out;
  out.reserve(c.state.size() + 64);
  internal::ByteWriter w(&out);
  w.U32(kMagic);
  w.U8(kVersion);
  w.I64(c.next_offset);
  w.I64(c.written_at_ms);
  w.Str(c.state);
  w.U32(Crc32c(out));
  return WriteFileAtomic(dir + "/checkpoint", out);
}

Result<std::optional<Checkpoint>> ReadCheckpoint(const std::string& dir) {
  const std::string path = dir + "/checkpoint";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<Checkpoint>();
    return ErrnoStatus("stat(" + path + ")", errno);
  }
  ASSIGN_OR_RETURN(std::string data, ReadFileToString(path));
  if (data.size() < 4) return Status::Corruption(path + ": truncated checkpoint");
  uint32_t crc;
  std::memcpy(&crc, data.data() + data.size() - 4, 4);
  std::string_view body(data.data(), data.size() - 4);
  if (Crc32c(body) != crc) return Status::Corruption(path + ": CRC mismatch");
  internal::ByteReader r(body);
  uint32_t magic;
  uint8_t version;
  Checkpoint c;
  if (!r.U32(&magic) || magic != kMagic || !r.U8(&version) || version != kVersion || !r.I64(&c.next_offset) ||
      !r.I64(&c.written_at_ms) || !r.Str(&c.state) || !r.done()) {
    return Status::Corruption(path + ": malformed checkpoint");
  }
  return std::optional<Checkpoint>(std::move(c));
}

}  // namespace tidemark::stream
