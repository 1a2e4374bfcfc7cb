#include "realtime/realtime_store.h"

#include <filesystem>
#include <mutex>

#include "common/files.h"
#include "common/hashing.h"
#include "common/time_format.h"
#include "stream/byte_io_internal.h"

namespace tidemark::realtime {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr uint32_t kMagic = 0x5352'4d54;  // "TMRS"
constexpr uint8_t kVersion = 1;

int64_t DayOf(int64_t ms) { return (ms >= 0 ? ms : ms - kDayMs + 1) / kDayMs * kDayMs; }

// "2026-04-10.rows" -> day start ms.
bool ParseDayFile(const std::string& name, int64_t* day) {
  if (name.size() != 15 || name.substr(10) != ".rows") return false;
  auto ms = ParseRfc3339Millis(name.substr(0, 10) + "T00:00:00Z");
  if (!ms) return false;
  *day = *ms;
  return true;
}

}  // namespace

RealtimeStore::RealtimeStore(std::string dir, int64_t retention_ms, const Clock* clock)
    : dir_(std::move(dir)), retention_ms_(retention_ms), clock_(clock) {}

std::string RealtimeStore::ShardDir(std::string_view shard) const { return dir_ + "/" + std::string(shard); }

void RealtimeStore::Upsert(std::string_view shard, RowKind kind, int64_t window_start_ms, std::string_view dims,
                           const WindowAggregate& value) {
  std::unique_lock lock(mu_);
  auto it = shards_.find(shard);
  if (it == shards_.end()) it = shards_.emplace(std::string(shard), Shard()).first;
  Shard& s = it->second;
  auto row = s.rows.find(std::make_tuple(kind, window_start_ms, dims));
  if (row == s.rows.end()) {
    s.rows.emplace(RowKey(kind, window_start_ms, std::string(dims)), value);
  } else {
    row->second = value;
  }
  s.dirty_days.insert(DayOf(window_start_ms));
}

Status RealtimeStore::Flush(std::string_view shard) {
  // Serialise under the lock, write files outside it.
  std::vector<std::pair<std::string, std::string>> files;
  {
    std::unique_lock lock(mu_);
    auto it = shards_.find(shard);
    if (it == shards_.end() || it->second.dirty_days.empty()) return Status::Ok();
    Shard& s = it->second;
    for (int64_t day : s.dirty_days) {
      std::string out;
      stream::internal::ByteWriter w(&out);
      w.U32(kMagic);
      w.U8(kVersion);
      size_t count_pos = out.size();
      w.U64(0);
      uint64_t count = 0;
      for (int k = 0; k < stream::kRowKinds; ++k) {
        auto lo = s.rows.lower_bound(std::make_tuple(static_cast<RowKind>(k), day, std::string_view()));
        for (auto r = lo; r != s.rows.end() && std::get<0>(r->first) == static_cast<RowKind>(k) &&
                          std::get<1>(r->first) < day + kDayMs;
             ++r) {
          w.U8(static_cast<uint8_t>(k));
          w.I64(std::get<1>(r->first));
          w.Str(std::get<2>(r->first));
          r->second.AppendTo(&out);
          ++count;
        }
      }
      std::memcpy(out.data() + count_pos, &count, sizeof count);
      w.U32(Crc32c(out));
      files.emplace_back(ShardDir(shard) + "/" + FormatDate(day) + ".rows", std::move(out));
    }
    s.dirty_days.clear();
  }
  RETURN_IF_ERROR(CreateDirectories(ShardDir(shard)));
  for (const auto& [path, contents] : files) {
    Status st = WriteFileAtomic(path, contents);
    if (!st.ok()) {
      // Mark the days dirty again so the next flush retries them.
      std::unique_lock lock(mu_);
      for (const auto& [p, c] : files) {
        int64_t day;
        if (ParseDayFile(std::filesystem::path(p).filename().string(), &day)) shards_[std::string(shard)].dirty_days.insert(day);
      }
      return st;
    }
  }
  return Status::Ok();
}

Status RealtimeStore::Load() {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) return Status::Ok();
  std::unique_lock lock(mu_);
  const int64_t horizon = clock_->NowMillis() - retention_ms_;
  for (const auto& topic : std::filesystem::directory_iterator(dir_, ec)) {
    if (!topic.is_directory()) continue;
    for (const auto& part : std::filesystem::directory_iterator(topic.path(), ec)) {
      if (!part.is_directory()) continue;
      const std::string shard = topic.path().filename().string() + "/" + part.path().filename().string();
      for (const auto& file : std::filesystem::directory_iterator(part.path(), ec)) {
        int64_t day;
        if (!ParseDayFile(file.path().filename().string(), &day)) continue;
        if (day + kDayMs <= horizon) continue;  // retention removes it
        const std::string path = file.path().string();
        ASSIGN_OR_RETURN(std::string data, ReadFileToString(path));
        if (data.size() < 4) return Status::Corruption(path + ": truncated");
        uint32_t crc;
        std::memcpy(&crc, data.data() + data.size() - 4, 4);
        std::string_view body(data.data(), data.size() - 4);
        if (Crc32c(body) != crc) return Status::Corruption(path + ": CRC mismatch");
        stream::internal::ByteReader r(body);
        uint32_t magic;
        uint8_t version;
        uint64_t count;
        if (!r.U32(&magic) || magic != kMagic || !r.U8(&version) || version != kVersion || !r.U64(&count)) {
          return Status::Corruption(path + ": bad header");
        }
        Shard& s = shards_[shard];
        std::string_view rest = body.substr(body.size() - r.remaining());
        for (uint64_t i = 0; i < count; ++i) {
          stream::internal::ByteReader rr(rest);
          uint8_t kind;
          int64_t ws;
          std::string dims;
          if (!rr.U8(&kind) || kind >= stream::kRowKinds || !rr.I64(&ws) || !rr.Str(&dims)) {
            return Status::Corruption(path + ": truncated row " + std::to_string(i));
          }
          rest = rest.substr(rest.size() - rr.remaining());
          WindowAggregate agg;
          if (!WindowAggregate::ReadFrom(&rest, &agg)) {
            return Status::Corruption(path + ": bad aggregate in row " + std::to_string(i));
          }
          s.rows[RowKey(static_cast<RowKind>(kind), ws, std::move(dims))] = std::move(agg);
        }
      }
    }
  }
  if (ec) return Status::IOError("listing " + dir_ + ": " + ec.message());
  return Status::Ok();
}

Status RealtimeStore::EnforceRetention() {
  const int64_t horizon = clock_->NowMillis() - retention_ms_;
  std::vector<std::string> shard_names;
  {
    std::unique_lock lock(mu_);
    for (auto& [name, s] : shards_) {
      std::erase_if(s.rows, [&](const auto& row) { return std::get<1>(row.first) < horizon; });
      shard_names.push_back(name);
    }
  }
  for (const auto& name : shard_names) {
    std::error_code ec;
    const std::string dir = ShardDir(name);
    if (!std::filesystem::is_directory(dir, ec)) continue;
    for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
      int64_t day;
      if (ParseDayFile(file.path().filename().string(), &day) && day + kDayMs <= horizon) {
        std::filesystem::remove(file.path(), ec);
        if (ec) return Status::IOError("removing " + file.path().string() + ": " + ec.message());
      }
    }
  }
  return Status::Ok();
}

void RealtimeStore::Scan(RowKind kind, int64_t from_ms, int64_t to_ms, const Visitor& fn) const {
  std::shared_lock lock(mu_);
  for (const auto& [name, s] : shards_) {
    auto r = s.rows.lower_bound(std::make_tuple(kind, from_ms, std::string_view()));
    for (; r != s.rows.end() && std::get<0>(r->first) == kind && std::get<1>(r->first) < to_ms; ++r) {
      fn(std::get<1>(r->first), std::get<2>(r->first), r->second);
    }
  }
}

size_t RealtimeStore::CellCount() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [name, s] : shards_) n += s.rows.size();
  return n;
}

}  // namespace tidemark::realtime
