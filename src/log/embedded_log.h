// The embedded segment log: data/log/<topic>/<partition>/<base_offset>.log and .index,
// record batches with CRC32C, one writer thread doing group commit (one fsync per dirty
// partition covers every append queued since the previous round; a round's fsyncs run side
// by side on sync_threads threads), crash recovery that
// truncates a torn tail and says so.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "log/log.h"

namespace tidemark::log {

enum class Codec : int16_t { kNone = 0, kZstd = 1 };

struct EmbeddedLogOptions {
  std::string dir;                          // the log's root (data/log)
  int64_t segment_bytes = 256 << 20;
  int64_t index_interval_bytes = 4096;
  int64_t fsync_max_wait_us = 0;            // group commit: wait this long for more appends
  int64_t max_pending_bytes = 256 << 20;    // bytes queued but not yet durable
  // fdatasyncs of one round's dirty partitions run on this many threads at once (the
  // writer and sync_threads - 1 helpers "tm-log-sync"), so a round waits for the slowest
  // sync rather than for their sum. 1 syncs one partition after the other.
  int sync_threads = 4;
  Codec compression = Codec::kNone;
  int64_t retention_ms = 0;                 // 0 keeps forever
  int64_t retention_bytes = 0;              // per partition; 0 unbounded
  bool fsync = true;
  // Open for reading only (tools such as `tidemark log dump` beside a running server): no
  // writer thread, no truncation; a torn tail is simply not served. Appends fail.
  bool read_only = false;
  MetricsRegistry* metrics = nullptr;       // optional; must outlive the log
  const Clock* clock = nullptr;             // optional; SystemClock when null
};

// Reads the log.* settings.
EmbeddedLogOptions EmbeddedLogOptionsFromConfig(const Config& config, std::string dir);

// Opens (creating if needed) the log under options.dir, recovering every partition: a torn
// or corrupt tail is truncated and reported through spdlog and `recovery_notes`.
// InvalidArgument names the offending log.* setting. Recovery scans each partition's last
// segment (and any older one without a known-good index), so opening takes time in
// proportion to the active segments' size. Format and rules: docs/formats-log.md.
//
// Beyond log.h: Append encodes and checksums the record batch on the calling thread (CPU
// in proportion to the records' bytes, no I/O) and frees the records there; an append of
// no records is InvalidArgument; the bytes counted against
// max_pending_bytes are key + value + 16 per record, and an append into an empty queue is
// always accepted; a write that fails with ENOSPC answers ResourceExhausted, other write or
// fsync failures IOError. Callbacks run on the writer thread ("tm-log-writer"), so they must
// be quick; Close() may be called from one but then does not wait. Fault points:
// log.fsync_fails, log.write_enospc, log.crash_after_write_before_fsync, log.writer_pause,
// log.writer_pause_before_sync.
Result<std::unique_ptr<Log>> OpenEmbeddedLog(const EmbeddedLogOptions& options,
                                             std::vector<std::string>* recovery_notes = nullptr);

// Creates the topics of DESIGN §2 with the topics.* partition counts.
Status CreateStandardTopics(Log& log, const Config& config);

}  // namespace tidemark::log
