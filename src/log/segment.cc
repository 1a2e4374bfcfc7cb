// Segment file mechanics: see segment_internal.h.
#include "log/segment_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "common/fault_points.h"
#include "common/files.h"
#include "common/hashing.h"

namespace tidemark::log::internal {
namespace {

// Index file footer, little-endian, after the 8-byte entries:
//   int64 log_size, int64 end_offset, int64 max_timestamp_ms, uint32 entry_count,
//   uint32 magic, uint32 crc32c of everything before the crc.
constexpr size_t kIndexEntrySize = 8;
constexpr size_t kIndexFooterSize = 8 + 8 + 8 + 4 + 4 + 4;
constexpr uint32_t kIndexMagic = 0x58494D54;  // "TMIX"

}  // namespace

std::string SegmentFileName(int64_t base_offset, const char* extension) {
  return fmt::format("{:020d}{}", base_offset, extension);
}

Segment::Segment(std::string dir, std::string display_dir, int64_t base_offset, int fd)
    : base_offset_(base_offset),
      log_path_(dir + "/" + SegmentFileName(base_offset, ".log")),
      index_path_(dir + "/" + SegmentFileName(base_offset, ".index")),
      display_(display_dir + "/" + SegmentFileName(base_offset, ".log")),
      fd_(fd) {
  state.end_offset = base_offset;
}

Segment::~Segment() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::shared_ptr<Segment>> Segment::Create(const std::string& dir, const std::string& display_dir,
                                                 int64_t base_offset, bool fsync) {
  const std::string path = dir + "/" + SegmentFileName(base_offset, ".log");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create segment " + path, errno);
  std::shared_ptr<Segment> segment(new Segment(dir, display_dir, base_offset, fd));
  if (fsync) {
    // The new file's directory entry must be durable before anything in it is acknowledged.
    Status st = ::fsync(fd) == 0 ? FsyncDirectory(dir) : ErrnoStatus("fsync(" + path + ")", errno);
    if (!st.ok()) {
      // Remove it again, or the next roll to this base offset would find it and fail for good.
      ::unlink(path.c_str());
      return st;
    }
  }
  return segment;
}

Result<std::shared_ptr<Segment>> Segment::Open(const std::string& dir, const std::string& display_dir,
                                               int64_t base_offset) {
  const std::string path = dir + "/" + SegmentFileName(base_offset, ".log");
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open(" + path + ")", errno);
  return std::shared_ptr<Segment>(new Segment(dir, display_dir, base_offset, fd));
}

Result<int64_t> Segment::FileSize() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return ErrnoStatus("fstat(" + log_path_ + ")", errno);
  return static_cast<int64_t>(st.st_size);
}

Status Segment::WriteAt(int64_t pos, const iovec* iov, size_t count) {
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) total += iov[i].iov_len;
  // Fault point: the disk fills up half way through the write.
  if (FaultArmed("log.write_enospc")) {
    size_t half = total / 2;
    for (size_t i = 0; i < count && half > 0; ++i) {
      const size_t n = std::min(half, iov[i].iov_len);
      if (::pwrite(fd_, iov[i].iov_base, n, pos) < 0) return ErrnoStatus("pwrite(" + log_path_ + ")", errno);
      pos += static_cast<int64_t>(n);
      half -= n;
    }
    return ErrnoStatus("pwrite(" + log_path_ + ") [fault point log.write_enospc]", ENOSPC);
  }
  // pwritev takes at most IOV_MAX buffers and may write short; `skip` is how much of
  // iov[i] already reached the file.
  size_t i = 0, skip = 0, done = 0;
  iovec chunk[IOV_MAX];
  while (i < count) {
    size_t n = 0;
    for (size_t k = i; k < count && n < IOV_MAX; ++k, ++n) {
      chunk[n] = iov[k];
      if (k == i) {
        chunk[n].iov_base = static_cast<char*>(chunk[n].iov_base) + skip;
        chunk[n].iov_len -= skip;
      }
    }
    ssize_t w = ::pwritev(fd_, chunk, static_cast<int>(n), pos + static_cast<int64_t>(done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(fmt::format("pwritev({}, {} bytes at byte {})", log_path_, total - done, pos + done), errno);
    }
    if (w == 0) {
      return ErrnoStatus(fmt::format("pwritev({}, {} bytes at byte {}) wrote nothing", log_path_, total - done,
                                     pos + done), EIO);
    }
    done += static_cast<size_t>(w);
    for (size_t left = static_cast<size_t>(w); left > 0;) {
      const size_t avail = iov[i].iov_len - skip;
      if (left < avail) {
        skip += left;
        left = 0;
      } else {
        left -= avail;
        skip = 0;
        ++i;
      }
    }
    while (i < count && iov[i].iov_len == skip) {
      ++i;
      skip = 0;
    }
  }
  return Status::Ok();
}

void Segment::StartWriteback(int64_t pos, int64_t n) {
  // Best effort: an error here resurfaces from the fdatasync that follows.
  (void)::sync_file_range(fd_, pos, n, SYNC_FILE_RANGE_WRITE);
}

void Segment::Preallocate(int64_t end) {
  if (!preallocate_ || end <= preallocated_end_) return;
  const int64_t from = preallocated_end_;
  const int64_t to = (end / kPreallocateStepBytes + 1) * kPreallocateStepBytes;
  if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, from, to - from) != 0) {
    preallocate_ = false;  // EOPNOTSUPP, ENOSPC, …: the write itself will say what matters
    return;
  }
  preallocated_end_ = to;
}

void Segment::ReleasePreallocation(int64_t size) {
  if (preallocated_end_ <= size) return;
  // ftruncate to the current size frees blocks reserved past it (a hole punch past the end
  // of file does nothing on ext4). Best effort: blocks left reserved only cost disk space
  // until the segment is deleted.
  (void)::ftruncate(fd_, size);
  preallocated_end_ = size;
}

Status Segment::Sync() {
  if (FaultArmed("log.fsync_fails")) {
    return ErrnoStatus("fdatasync(" + log_path_ + ") [fault point log.fsync_fails]", EIO);
  }
  if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync(" + log_path_ + ")", errno);
  return Status::Ok();
}

Status Segment::TruncateTo(int64_t size) {
  if (::ftruncate(fd_, size) != 0) {
    return ErrnoStatus(fmt::format("ftruncate({}, {})", log_path_, size), errno);
  }
  preallocated_end_ = std::min(preallocated_end_, size);  // truncation frees reserved blocks too
  return Status::Ok();
}

Status Segment::WriteIndexFile(const SegmentState& s, bool fsync) const {
  std::string out;
  out.resize(s.index.size() * kIndexEntrySize + kIndexFooterSize);
  char* p = out.data();
  for (const IndexEntry& e : s.index) {
    PutU32(p, e.relative_offset);
    PutU32(p + 4, e.position);
    p += kIndexEntrySize;
  }
  PutU64(p, static_cast<uint64_t>(s.durable_size));
  PutU64(p + 8, static_cast<uint64_t>(s.end_offset));
  PutU64(p + 16, static_cast<uint64_t>(s.max_timestamp_ms));
  PutU32(p + 24, static_cast<uint32_t>(s.index.size()));
  PutU32(p + 28, kIndexMagic);
  PutU32(p + 32, Crc32c(out.data(), out.size() - 4));
  if (fsync) return WriteFileAtomic(index_path_, out);
  // Without fsync (benchmarks) a plain write is enough: nothing is promised after a crash.
  int fd = ::open(index_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open(" + index_path_ + ")", errno);
  ssize_t w = ::write(fd, out.data(), out.size());
  int err = errno;
  ::close(fd);
  if (w != static_cast<ssize_t>(out.size())) return ErrnoStatus("write(" + index_path_ + ")", w < 0 ? err : EIO);
  return Status::Ok();
}

bool Segment::LoadIndexFile(int64_t log_size, SegmentState* s) const {
  auto contents = ReadFileToString(index_path_);
  if (!contents.ok()) return false;
  const std::string& in = *contents;
  if (in.size() < kIndexFooterSize || (in.size() - kIndexFooterSize) % kIndexEntrySize != 0) return false;
  const char* f = in.data() + in.size() - kIndexFooterSize;
  if (GetU32(f + 28) != kIndexMagic || GetU32(f + 32) != Crc32c(in.data(), in.size() - 4)) return false;
  const size_t entries = (in.size() - kIndexFooterSize) / kIndexEntrySize;
  if (GetU32(f + 24) != entries) return false;
  if (static_cast<int64_t>(GetU64(f)) != log_size) return false;
  s->durable_size = log_size;
  s->end_offset = static_cast<int64_t>(GetU64(f + 8));
  s->max_timestamp_ms = static_cast<int64_t>(GetU64(f + 16));
  if (s->end_offset < base_offset_) return false;
  s->index.clear();
  s->index.reserve(entries);
  for (size_t i = 0; i < entries; ++i) {
    const char* e = in.data() + i * kIndexEntrySize;
    IndexEntry entry{GetU32(e), GetU32(e + 4)};
    if (entry.position >= log_size) return false;
    s->index.push_back(entry);
  }
  return true;
}

Status Segment::RemoveFiles() const {
  if (::unlink(log_path_.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink(" + log_path_ + ")", errno);
  if (::unlink(index_path_.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("unlink(" + index_path_ + ")", errno);
  }
  return Status::Ok();
}

BatchReader::BatchReader(const Segment& segment, int64_t pos, int64_t limit, size_t chunk_bytes,
                         ByteBuffer* buffer, Bytes bytes)
    : segment_(segment), pos_(pos), limit_(limit), chunk_bytes_(chunk_bytes), buf_(*buffer), keep_(bytes == Bytes::kKeep) {
  if (!keep_) buf_.clear();
  base_ = buf_.size();
  buf_pos_ = pos;
}

// Makes [pos_, pos_ + n) resident in buf_; *available is false when the file (up to limit_)
// ends first.
Status BatchReader::Ensure(size_t n, bool* available) {
  *available = pos_ + static_cast<int64_t>(n) <= limit_;
  if (!*available) return Status::Ok();
  const int64_t held_end = buf_pos_ + static_cast<int64_t>(buf_.size() - base_);
  if (pos_ >= buf_pos_ && pos_ + static_cast<int64_t>(n) <= held_end) return Status::Ok();
  // Refilling starts the buffer over at pos_; keeping reads on from what it holds.
  int64_t from = pos_;
  if (keep_) {
    from = held_end;
  } else {
    buf_.clear();
    buf_pos_ = pos_;
  }
  const int64_t want_end =
      std::min(std::max(pos_ + static_cast<int64_t>(n), from + static_cast<int64_t>(chunk_bytes_)), limit_);
  const size_t want = static_cast<size_t>(want_end - from);
  const size_t at = buf_.size();
  buf_.Resize(at + want);
  size_t done = 0;
  while (done < want) {
    ssize_t r = ::pread(segment_.fd(), buf_.data() + at + done, want - done, from + static_cast<int64_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(fmt::format("pread({}, byte {})", segment_.log_path(), from + static_cast<int64_t>(done)), errno);
    }
    if (r == 0) break;  // file shorter than limit_: treated as torn below
    done += static_cast<size_t>(r);
  }
  buf_.Resize(at + done);
  *available = from + static_cast<int64_t>(done) >= pos_ + static_cast<int64_t>(n);
  return Status::Ok();
}

Result<BatchReader::Outcome> BatchReader::Next() {
  if (pos_ >= limit_) return Outcome::kEnd;
  batch_pos_ = pos_;
  bool available = false;
  RETURN_IF_ERROR(Ensure(kBatchHeaderSize, &available));
  if (!available) {
    problem_ = "torn batch";
    detail_ = fmt::format("{} bytes present, a header alone needs {}", limit_ - pos_, kBatchHeaderSize);
    return Outcome::kTorn;
  }
  const char* p = buf_.data() + base_ + (pos_ - buf_pos_);
  if (!ParseBatchHeader(p, &header_, &detail_)) {
    problem_ = "invalid batch header";
    return Outcome::kInvalidHeader;
  }
  RETURN_IF_ERROR(Ensure(header_.total_size(), &available));
  if (!available) {
    problem_ = "torn batch";
    detail_ = fmt::format("{} of {} bytes present", limit_ - pos_, header_.total_size());
    return Outcome::kTorn;
  }
  data_ = buf_.data() + base_ + (pos_ - buf_pos_);
  pos_ += static_cast<int64_t>(header_.total_size());
  return Outcome::kBatch;
}

Result<ScanResult> ScanSegment(const Segment& segment, int64_t index_interval_bytes) {
  ScanResult result;
  ASSIGN_OR_RETURN(result.file_size, segment.FileSize());
  SegmentState& s = result.state;
  s.end_offset = segment.base_offset();
  int64_t since_index = 0;
  ByteBuffer buffer;
  BatchReader reader(segment, 0, result.file_size, 8 << 20, &buffer);
  for (;;) {
    ASSIGN_OR_RETURN(BatchReader::Outcome outcome, reader.Next());
    if (outcome == BatchReader::Outcome::kEnd) break;
    if (outcome != BatchReader::Outcome::kBatch) {
      result.problem = reader.problem();
      result.detail = reader.detail();
      break;
    }
    const BatchHeader& h = reader.header();
    if (!BatchCrcMatches(h, reader.data())) {
      result.problem = "CRC mismatch";
      break;
    }
    if (h.base_offset != s.end_offset) {
      result.problem = "unexpected base offset";
      result.detail = fmt::format("batch says {}, {} expected", h.base_offset, s.end_offset);
      break;
    }
    if (h.next_offset() - segment.base_offset() > INT32_MAX) {
      result.problem = "batch offsets overflow the segment";
      break;
    }
    if (since_index >= index_interval_bytes && reader.position() > 0) {
      s.index.push_back({static_cast<uint32_t>(h.base_offset - segment.base_offset()),
                         static_cast<uint32_t>(reader.position())});
      since_index = 0;
    }
    since_index += static_cast<int64_t>(h.total_size());
    s.end_offset = h.next_offset();
    s.max_timestamp_ms = std::max(s.max_timestamp_ms, h.max_timestamp_ms);
    s.durable_size = reader.position() + static_cast<int64_t>(h.total_size());
  }
  return result;
}

int64_t CountBatchesFrom(const Segment& segment, int64_t pos, int64_t file_size) {
  int64_t count = 0;
  while (pos < file_size) {
    ++count;
    char prefix[kBatchPrefixSize];
    if (file_size - pos < static_cast<int64_t>(kBatchPrefixSize) ||
        ::pread(segment.fd(), prefix, sizeof prefix, pos) != static_cast<ssize_t>(sizeof prefix)) {
      break;
    }
    uint32_t length = PeekBatchLength(prefix);
    if (length < kBatchHeaderSize - kBatchPrefixSize || length > kMaxBatchLength) break;
    pos += static_cast<int64_t>(kBatchPrefixSize + length);
  }
  return count;
}

}  // namespace tidemark::log::internal
