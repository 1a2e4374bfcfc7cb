// Partition: recovery, reads, retention and the writer's per-round work. See
// partition_internal.h for who may call what.
#include "log/partition_internal.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/fault_points.h"
#include "common/files.h"

namespace tidemark::log::internal {
namespace {

// Base offsets of the "<20 digits>.log" files in dir, ascending; removes orphan .index
// files and leftovers of interrupted index writes.
Result<std::vector<int64_t>> ListSegments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus("opendir(" + dir + ")", errno);
  std::vector<int64_t> logs;
  std::vector<std::string> indexes;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    auto base_of = [&](size_t ext_len) -> int64_t {
      if (name.size() != 20 + ext_len) return -1;
      int64_t v = 0;
      for (size_t i = 0; i < 20; ++i) {
        if (name[i] < '0' || name[i] > '9') return -1;
        v = v * 10 + (name[i] - '0');
      }
      return v;
    };
    if (name.ends_with(".log") && base_of(4) >= 0) {
      logs.push_back(base_of(4));
    } else if (name.ends_with(".index") && base_of(6) >= 0) {
      indexes.push_back(name);
    } else if (name.ends_with(".index.tmp")) {
      ::unlink((dir + "/" + name).c_str());
    }
  }
  ::closedir(d);
  std::sort(logs.begin(), logs.end());
  for (const std::string& name : indexes) {
    int64_t base = std::stoll(name.substr(0, 20));
    if (!std::binary_search(logs.begin(), logs.end(), base)) ::unlink((dir + "/" + name).c_str());
  }
  return logs;
}

std::string Plural(int64_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "es"); }

// Position of the last index entry at or before `offset` (0 when none).
int64_t IndexLookup(const Segment& segment, int64_t offset) {
  const auto& index = segment.state.index;
  const uint32_t rel = static_cast<uint32_t>(offset - segment.base_offset());
  auto it = std::upper_bound(index.begin(), index.end(), rel,
                             [](uint32_t r, const IndexEntry& e) { return r < e.relative_offset; });
  return it == index.begin() ? 0 : std::prev(it)->position;
}

}  // namespace

void CrashBeforeFsyncIfArmed() {
  // For the kill tests: data is in the page cache (it may or may not reach the disk) but was
  // never acknowledged, so recovery may keep or drop it but must not serve a torn batch.
  if (FaultArmed("log.crash_after_write_before_fsync")) _exit(137);
}

Partition::Partition(std::string dir, std::string display, const PartitionOptions& options)
    : dir_(std::move(dir)), display_(std::move(display)), options_(options) {}

Result<std::unique_ptr<Partition>> Partition::Open(const std::string& root, const std::string& topic, int id,
                                                   const PartitionOptions& options,
                                                   std::vector<std::string>* notes) {
  std::unique_ptr<Partition> p(new Partition(fmt::format("{}/{}/{}", root, topic, id),
                                             fmt::format("{}/{}", topic, id), options));
  if (!options.read_only) RETURN_IF_ERROR(CreateDirectories(p->dir_));
  RETURN_IF_ERROR(p->Recover(notes));
  return p;
}

Status Partition::Recover(std::vector<std::string>* notes) {
  ASSIGN_OR_RETURN(std::vector<int64_t> bases, ListSegments(dir_));
  std::vector<std::shared_ptr<Segment>> segments;
  std::string note;
  size_t first_dropped = bases.size();  // segments from here on are deleted
  for (size_t k = 0; k < bases.size(); ++k) {
    ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg, Segment::Open(dir_, display_, bases[k]));
    if (!segments.empty() && seg->base_offset() != segments.back()->state.end_offset) {
      note = fmt::format("{}: starts at offset {} but the previous segment ends at {}", seg->display(),
                         seg->base_offset(), segments.back()->state.end_offset);
      first_dropped = k;
      break;
    }
    ASSIGN_OR_RETURN(int64_t size, seg->FileSize());
    const bool last = k + 1 == bases.size();
    // The last segment is always validated: it is where a crash leaves a torn tail. Older
    // ones are trusted when their index is known-good (written at roll, after the data was
    // synced); otherwise, as after a crash mid-roll, they are scanned too.
    if (last || !seg->LoadIndexFile(size, &seg->state)) {
      ASSIGN_OR_RETURN(ScanResult scan, ScanSegment(*seg, options_.index_interval_bytes));
      seg->state = std::move(scan.state);
      if (!scan.problem.empty()) {
        const int64_t bad = seg->state.durable_size;
        const int64_t batches = CountBatchesFrom(*seg, bad, scan.file_size);
        if (!options_.read_only) {
          RETURN_IF_ERROR(seg->TruncateTo(bad));
          if (options_.fsync) RETURN_IF_ERROR(seg->Sync());
        }
        note = fmt::format("{}: {} at byte {}{}, {} {} ({} bytes)", seg->display(), scan.problem, bad,
                           scan.detail.empty() ? "" : " (" + scan.detail + ")",
                           options_.read_only ? "not serving" : "truncated", Plural(batches, "batch"),
                           scan.file_size - bad);
        first_dropped = k + 1;
      } else if (!last && !options_.read_only) {
        // A complete older segment: seal it so that the next open trusts it without a scan.
        Status st = seg->WriteIndexFile(seg->state, options_.fsync);
        if (!st.ok()) spdlog::warn("log: {}: could not rewrite its index: {}", seg->display(), st.ToString());
      }
    }
    seg->written_size = seg->state.durable_size;
    segments.push_back(std::move(seg));
    if (!note.empty()) break;
  }
  if (!note.empty()) {
    // Nothing may follow a hole: the segments after the bad point go.
    const size_t dropped = bases.size() - first_dropped;
    for (size_t j = first_dropped; j < bases.size() && !options_.read_only; ++j) {
      ASSIGN_OR_RETURN(std::shared_ptr<Segment> later, Segment::Open(dir_, display_, bases[j]));
      RETURN_IF_ERROR(later->RemoveFiles());
    }
    if (dropped > 0) {
      note += fmt::format(", {} {} later segment{}", options_.read_only ? "not serving" : "dropped", dropped,
                          dropped == 1 ? "" : "s");
      if (options_.fsync) RETURN_IF_ERROR(FsyncDirectory(dir_));
    }
    spdlog::warn("log recovery: {}", note);
    if (notes != nullptr) notes->push_back(note);
  }
  if (segments.empty()) {
    if (options_.read_only) return Status::NotFound(dir_ + ": no segment files");
    ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg, Segment::Create(dir_, display_, 0, options_.fsync));
    segments.push_back(std::move(seg));
  }
  segments_ = std::move(segments);
  Segment& active = *segments_.back();
  // Matches the writer's rule: bytes counted from the batch of the last index entry.
  active.bytes_since_index =
      active.state.durable_size - (active.state.index.empty() ? 0 : active.state.index.back().position);
  next_offset_ = active.state.end_offset;
  end_offset_.store(next_offset_, std::memory_order_release);
  return Status::Ok();
}

int64_t Partition::StartOffset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segments_.front()->base_offset();
}

Result<std::vector<StoredRecord>> Partition::Read(int64_t from, const ReadOptions& options) const {
  ReadBatch out;
  RETURN_IF_ERROR(ReadInto(from, options, &out));
  return out.Release();
}

Status Partition::ReadInto(int64_t from, const ReadOptions& options, ReadBatch* out) const {
  out->Clear();
  thread_local ByteBuffer buffer;
  struct ShrinkAfterHugeBatch {
    ~ShrinkAfterHugeBatch() {
      if (buffer.capacity() > (32 << 20)) buffer.Release();
    }
  } shrink;
  Status st = ReadBatches(from, options, &buffer, BatchReader::Bytes::kRefill,
                          [&](const BatchHeader& h, const char* data, ReadBudget* budget,
                              const std::string& where) -> Result<size_t> {
                            RETURN_IF_ERROR(DecodeBatchRecords(h, data, from, budget, out, where));
                            return out->size();
                          });
  // An error leaves the batch empty, not holding the records decoded before it.
  if (!st.ok()) out->Clear();
  return st;
}

Status Partition::ReadViews(int64_t from, const ReadOptions& options, RecordViews* out) const {
  out->Clear();
  ViewedRecords& viewed = out->StorageAs<ViewedRecords>();
  viewed.Clear();
  Status st = ReadBatches(from, options, &viewed.raw, BatchReader::Bytes::kKeep,
                          [&](const BatchHeader& h, const char* data, ReadBudget* budget,
                              const std::string& where) -> Result<size_t> {
                            RETURN_IF_ERROR(DecodeBatchRecordViews(h, data, from, budget, &viewed, where));
                            return viewed.records.size();
                          });
  if (st.ok()) viewed.MakeViews(out);
  // Memory kept for the next read: no more than a huge batch's worth.
  if (viewed.raw.capacity() > (32 << 20)) viewed.raw.Release();
  if (viewed.inflated.capacity() > (32 << 20)) viewed.inflated.Release();
  return st;
}

template <typename Decode>
Status Partition::ReadBatches(int64_t from, const ReadOptions& options, ByteBuffer* buffer,
                              BatchReader::Bytes bytes, Decode decode) const {
  struct Piece {
    std::shared_ptr<Segment> segment;
    int64_t pos;
    int64_t limit;
  };
  std::vector<Piece> pieces;
  int64_t start = 0, end = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    start = segments_.front()->base_offset();
    end = end_offset_.load(std::memory_order_acquire);
    if (from >= start && from < end) {
      auto it = std::upper_bound(segments_.begin(), segments_.end(), from,
                                 [](int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
      --it;
      pieces.push_back({*it, IndexLookup(**it, from), (*it)->state.durable_size});
      for (++it; it != segments_.end(); ++it) pieces.push_back({*it, 0, (*it)->state.durable_size});
    }
  }
  if (from < start || from > end) {
    return Status::OutOfRange(fmt::format("log: {}: offset {} is outside the retained range [{}, {}]", display_,
                                          from, start, end));
  }
  if (from == end || options.max_records == 0) return Status::Ok();

  ReadBudget budget{options.max_bytes, options.max_records};
  budget.keys = options.keys;
  // Large preads: at least 256 KiB, and enough to satisfy max_bytes in one go when it can.
  const size_t chunk = std::clamp<size_t>(options.max_bytes + (64 << 10), 256 << 10, 16 << 20);
  int64_t expected = -1;  // base offset the next batch must have, once known
  for (const Piece& piece : pieces) {
    BatchReader reader(*piece.segment, piece.pos, piece.limit, chunk, buffer, bytes);
    for (;;) {
      ASSIGN_OR_RETURN(BatchReader::Outcome outcome, reader.Next());
      if (outcome == BatchReader::Outcome::kEnd) break;
      if (outcome != BatchReader::Outcome::kBatch) {
        // Durable bytes that no longer parse: the file changed under us.
        return Status::Corruption(fmt::format("{}: {} at byte {} ({})", piece.segment->display(),
                                              reader.problem(), reader.position(), reader.detail()));
      }
      const BatchHeader& h = reader.header();
      if (h.next_offset() <= from) {
        expected = h.next_offset();
        continue;  // wholly before `from`: nothing of it is returned, so it is not decoded
      }
      if (!BatchCrcMatches(h, reader.data())) {
        return Status::Corruption(
            fmt::format("{}: CRC mismatch in batch at byte {}", piece.segment->display(), reader.position()));
      }
      if (expected >= 0 && h.base_offset != expected) {
        return Status::Corruption(fmt::format("{}: batch at byte {} starts at offset {} where {} was expected",
                                              piece.segment->display(), reader.position(), h.base_offset,
                                              expected));
      }
      expected = h.next_offset();
      ASSIGN_OR_RETURN(const size_t records,
                       decode(h, reader.data(), &budget,
                              fmt::format("{}: batch at byte {}", piece.segment->display(), reader.position())));
      if (budget.Full(records)) return Status::Ok();
    }
  }
  return Status::Ok();
}

Status Partition::EnforceRetention(int64_t now_ms, int64_t retention_ms, int64_t retention_bytes) {
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t total = 0;
    for (const auto& s : segments_) total += s->state.durable_size;
    size_t n = 0;
    // Only a prefix of non-active segments goes, so the retained offsets stay contiguous.
    while (n + 1 < segments_.size()) {
      const SegmentState& s = segments_[n]->state;
      const bool too_old = retention_ms > 0 && now_ms - s.max_timestamp_ms > retention_ms;
      const bool too_big = retention_bytes > 0 && total > retention_bytes;
      if (!too_old && !too_big) break;
      total -= s.durable_size;
      ++n;
    }
    doomed.assign(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  if (doomed.empty()) return Status::Ok();
  for (const auto& s : doomed) {
    RETURN_IF_ERROR(s->RemoveFiles());
    spdlog::info("log retention: deleted {} (offsets {}..{})", s->display(), s->base_offset(),
                 s->state.end_offset - 1);
  }
  return options_.fsync ? FsyncDirectory(dir_) : Status::Ok();
}

// --- writer thread -------------------------------------------------------------------------

bool Partition::Stage(PendingAppend* append) {
  staged_.push_back(append);
  return staged_.size() == 1;
}

Status Partition::SyncSegment(Segment& segment) {
  if (!options_.fsync) return Status::Ok();
  auto start = std::chrono::steady_clock::now();
  Status st = segment.Sync();
  if (options_.fsync_seconds != nullptr) {
    options_.fsync_seconds->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return st;
}

Status Partition::Roll(int64_t base_offset) {
  ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg, Segment::Create(dir_, display_, base_offset, options_.fsync));
  std::lock_guard<std::mutex> lock(mu_);
  segments_.push_back(std::move(seg));
  return Status::Ok();
}

void Partition::WriteStaged() {
  std::shared_ptr<Segment> seg;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seg = segments_.back();
  }
  iov_.clear();
  int64_t span_bytes = 0;  // bytes of the batches in iov_
  Unsynced u;
  auto begin_span = [&](size_t first) {
    u = Unsynced{};
    u.segment = seg;
    u.first = u.last = first;
    u.start = u.end = seg->written_size;
    u.bytes_since_index_before = seg->bytes_since_index;
    u.added.end_offset = next_offset_;
    iov_.clear();
    span_bytes = 0;
  };
  begin_span(0);
  for (size_t i = 0; i < staged_.size(); ++i) {
    PendingAppend& a = *staged_[i];
    BatchHeader& h = a.header;
    SetBatchBaseOffset(a.batch.data(), &h, next_offset_);
    const int64_t n = static_cast<int64_t>(a.batch.size());
    const int64_t pos = seg->written_size + span_bytes;
    const bool full = pos > 0 && (pos + n > options_.segment_bytes || h.next_offset() - seg->base_offset() > INT32_MAX);
    if (full) {
      // This batch opens a new segment; what precedes it in the old one becomes durable now.
      if (span_bytes > 0) {
        seg->Preallocate(u.end);
        Status st = seg->WriteAt(u.start, iov_.data(), iov_.size());
        if (st.ok()) {
          CrashBeforeFsyncIfArmed();
          st = SyncSegment(*seg);
        }
        if (!st.ok()) {
          Fail(u, staged_.size(), st);
          return;
        }
        seg->written_size = u.end;
        Publish(u);
      }
      SegmentState sealed;
      {
        std::lock_guard<std::mutex> lock(mu_);
        sealed = seg->state;
      }
      Status st = seg->WriteIndexFile(sealed, options_.fsync);
      if (!st.ok()) {
        spdlog::warn("log: {}: index not written ({}); the next open will scan it", seg->display(), st.ToString());
      }
      seg->ReleasePreallocation(seg->written_size);
      st = Roll(h.base_offset);
      if (!st.ok()) {
        // Nothing of appends [i, end) reached a file: fail them, keep what is published.
        for (size_t j = i; j < staged_.size(); ++j) staged_[j]->result = st;
        next_offset_ = EndOffset();
        spdlog::error("log: {}: {} append(s) failed: {}", display_, staged_.size() - i, st.ToString());
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        seg = segments_.back();
      }
      begin_span(i);
    }
    const int64_t batch_pos = seg->written_size + span_bytes;
    if (seg->bytes_since_index >= options_.index_interval_bytes && batch_pos > 0) {
      u.added.index.push_back({static_cast<uint32_t>(h.base_offset - seg->base_offset()),
                               static_cast<uint32_t>(batch_pos)});
      seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += n;
    iov_.push_back({a.batch.data(), a.batch.size()});
    span_bytes += n;
    u.added.end_offset = h.next_offset();
    u.added.max_timestamp_ms = std::max(u.added.max_timestamp_ms, h.max_timestamp_ms);
    u.last = i + 1;
    u.end = seg->written_size + span_bytes;
    a.result = h.base_offset;
    next_offset_ = h.next_offset();
  }
  if (u.last == u.first) return;
  seg->Preallocate(u.end);
  Status st = seg->WriteAt(u.start, iov_.data(), iov_.size());
  if (!st.ok()) {
    Fail(u, staged_.size(), st);
    return;
  }
  seg->written_size = u.end;
  if (options_.fsync) seg->StartWriteback(u.start, u.end - u.start);
  unsynced_ = std::move(u);
}

void Partition::CompleteStaged() {
  if (unsynced_.segment != nullptr) {
    Status st = SyncSegment(*unsynced_.segment);
    if (st.ok()) {
      Publish(unsynced_);
    } else {
      Fail(unsynced_, unsynced_.last, st);
    }
  }
  unsynced_ = Unsynced{};
  staged_.clear();
}

void Partition::Publish(const Unsynced& u) {
  int64_t records = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SegmentState& s = u.segment->state;
    s.durable_size = u.end;
    s.end_offset = u.added.end_offset;
    s.max_timestamp_ms = std::max(s.max_timestamp_ms, u.added.max_timestamp_ms);
    s.index.insert(s.index.end(), u.added.index.begin(), u.added.index.end());
    end_offset_.store(u.added.end_offset, std::memory_order_release);
  }
  for (size_t i = u.first; i < u.last; ++i) records += staged_[i]->header.record_count;
  if (options_.appended_records != nullptr) options_.appended_records->Inc(static_cast<uint64_t>(records));
  if (options_.appended_bytes != nullptr) options_.appended_bytes->Inc(static_cast<uint64_t>(u.end - u.start));
}

// Fails appends [u.first, fail_until) and takes the segment back to its durable state, so
// the bytes of failed batches are neither served nor followed by later batches.
void Partition::Fail(const Unsynced& u, size_t fail_until, const Status& status) {
  for (size_t i = u.first; i < fail_until; ++i) staged_[i]->result = status;
  Segment& seg = *u.segment;
  Status st = seg.TruncateTo(u.start);
  if (!st.ok()) {
    // Later batches overwrite from u.start anyway; recovery drops whatever trails them.
    spdlog::error("log: {}: could not truncate failed batches: {}", seg.display(), st.ToString());
  }
  seg.written_size = u.start;
  seg.bytes_since_index = u.bytes_since_index_before;
  next_offset_ = EndOffset();
  spdlog::error("log: {}: {} append(s) failed: {}", display_, fail_until - u.first, status.ToString());
}

Status Partition::Seal() {
  if (options_.read_only) return Status::Ok();
  std::shared_ptr<Segment> seg;
  SegmentState state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seg = segments_.back();
    state = seg->state;
  }
  seg->ReleasePreallocation(seg->written_size);
  return seg->WriteIndexFile(state, options_.fsync);
}

}  // namespace tidemark::log::internal
