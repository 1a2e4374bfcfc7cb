// The embedded log's own behaviour: files, durability across reopen, group commit, recovery
// from torn and corrupt tails, failure injection, retention, compression and metrics. The
// contract it shares with the memory log is in log_contract_test.cc.
#include "log/embedded_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/config.h"
#include "common/fault_points.h"
#include "common/metrics.h"
#include "log/log_test_util_internal.h"

namespace tidemark::log {
namespace {

namespace fs = std::filesystem;
using testing::MakeRecords;
using testing::ScratchDir;

// Waits for a number of callbacks; keeps every result by slot.
class Callbacks {
 public:
  explicit Callbacks(size_t n) : results_(n, Status::Internal("no callback")) {}
  AppendCallback For(size_t slot) {
    return [this, slot](Result<int64_t> r) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[slot] = std::move(r);
      ++done_;
      cv_.notify_all();
    };
  }
  const std::vector<Result<int64_t>>& Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_ == results_.size(); });
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Result<int64_t>> results_;
  size_t done_ = 0;
};

class EmbeddedLogTest : public ::testing::Test {
 protected:
  void TearDown() override { DisarmAllFaults(); }

  EmbeddedLogOptions Options() {
    EmbeddedLogOptions o;
    o.dir = dir_.path();
    return o;
  }

  std::unique_ptr<Log> Open(const EmbeddedLogOptions& options, std::vector<std::string>* notes = nullptr) {
    auto log = OpenEmbeddedLog(options, notes);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return nullptr;
    return std::move(log).value();
  }

  std::string PartitionDir(int partition = 0, const std::string& topic = "events") {
    return fmt::format("{}/{}/{}", dir_.path(), topic, partition);
  }
  std::string SegmentPath(int64_t base, const char* ext = ".log", int partition = 0) {
    return fmt::format("{}/{:020d}{}", PartitionDir(partition), base, ext);
  }
  // Base offsets of the partition's .log files, ascending.
  std::vector<int64_t> SegmentBases(int partition = 0) {
    std::vector<int64_t> bases;
    for (const auto& e : fs::directory_iterator(PartitionDir(partition))) {
      if (e.path().extension() == ".log") bases.push_back(std::stoll(e.path().stem().string()));
    }
    std::sort(bases.begin(), bases.end());
    return bases;
  }
  // Every record of a partition, read in pieces as a consumer would.
  std::vector<StoredRecord> ReadAll(Log& log, int partition = 0, const std::string& topic = "events") {
    std::vector<StoredRecord> all;
    int64_t next = *log.StartOffset(topic, partition);
    for (;;) {
      auto got = log.Read(topic, partition, next, ReadOptions{.max_bytes = 8192});
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok() || got->empty()) return all;
      next = got->back().offset + 1;
      all.insert(all.end(), got->begin(), got->end());
    }
  }

  ScratchDir dir_;
};

TEST_F(EmbeddedLogTest, RoundTripsManyBatchesAcrossPartitions) {
  auto options = Options();
  options.segment_bytes = 64 << 10;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 8).ok());
  constexpr int kBatches = 400;
  Callbacks callbacks(kBatches);
  std::vector<std::vector<Record>> expected(8);
  for (int b = 0; b < kBatches; ++b) {
    auto records = MakeRecords(b, 1 + b % 9, 20 + (b * 37) % 700);
    expected[b % 8].insert(expected[b % 8].end(), records.begin(), records.end());
    log->Append("events", b % 8, std::move(records), callbacks.For(b));
  }
  for (const auto& r : callbacks.Wait()) ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (int p = 0; p < 8; ++p) {
    std::vector<StoredRecord> got = ReadAll(*log, p);
    ASSERT_EQ(got.size(), expected[p].size()) << "partition " << p;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].offset, static_cast<int64_t>(i));
      ASSERT_EQ(got[i].key, expected[p][i].key);
      ASSERT_EQ(got[i].value, expected[p][i].value);
      ASSERT_EQ(got[i].timestamp_ms, expected[p][i].timestamp_ms);
    }
  }
  EXPECT_GT(SegmentBases(0).size(), 1u) << "64 KiB segments should have rolled";
}

TEST_F(EmbeddedLogTest, OffsetsAndRecordsSurviveReopen) {
  {
    auto log = Open(Options());
    ASSERT_TRUE(log->CreateTopic("events", 2).ok());
    ASSERT_EQ(*AppendAndWait(*log, "events", 1, MakeRecords(0, 5)), 0);
    ASSERT_EQ(*AppendAndWait(*log, "events", 1, MakeRecords(1, 3)), 5);
  }
  std::vector<std::string> notes;
  auto log = Open(Options(), &notes);
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(*log->PartitionCount("events"), 2);
  EXPECT_EQ(*log->EndOffset("events", 1), 8);
  EXPECT_EQ(*AppendAndWait(*log, "events", 1, MakeRecords(2, 1)), 8);
  std::vector<StoredRecord> got = ReadAll(*log, 1);
  ASSERT_EQ(got.size(), 9u);
  EXPECT_EQ(got[5].value, MakeRecords(1, 3)[0].value);
  EXPECT_EQ(got[8].value, MakeRecords(2, 1)[0].value);
}

TEST_F(EmbeddedLogTest, ReopenWithoutIndexFilesRebuildsThemFromTheSegments) {
  auto options = Options();
  options.segment_bytes = 2048;
  options.index_interval_bytes = 256;
  {
    auto log = Open(options);
    ASSERT_TRUE(log->CreateTopic("events", 1).ok());
    for (int b = 0; b < 40; ++b) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(b, 3, 50)).ok());
  }
  for (int64_t base : SegmentBases()) fs::remove(SegmentPath(base, ".index"));
  std::vector<std::string> notes;
  auto log = Open(options, &notes);
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(ReadAll(*log).size(), 120u);
  auto middle = log->Read("events", 0, 77, ReadOptions{.max_records = 1});
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(middle->front().value, MakeRecords(25, 3, 50)[2].value);
  std::vector<int64_t> bases = SegmentBases();
  for (size_t i = 0; i + 1 < bases.size(); ++i) {
    EXPECT_TRUE(fs::exists(SegmentPath(bases[i], ".index"))) << "older segments are sealed again";
  }
}

TEST_F(EmbeddedLogTest, QueuedAppendsShareOneFsyncPerPartition) {
  MetricsRegistry metrics;
  auto options = Options();
  options.metrics = &metrics;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 2).ok());
  // Hold the writer so that every append below is queued before it looks.
  ArmFault("log.writer_pause");
  constexpr int kThreads = 4, kPerThread = 250;
  Callbacks callbacks(kThreads * kPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        log->Append("events", i % 2, MakeRecords(i, 2), callbacks.For(t * kPerThread + i));
      }
    });
  }
  for (auto& th : threads) th.join();
  DisarmFault("log.writer_pause");
  for (const auto& r : callbacks.Wait()) ASSERT_TRUE(r.ok());
  Histogram& fsyncs = metrics.GetHistogram("tidemark_log_fsync_seconds", "", LatencyBuckets());
  EXPECT_EQ(fsyncs.Count(), 2u) << "1000 appends, 2 dirty partitions, one round";
  EXPECT_EQ(*log->EndOffset("events", 0), 1000);
  EXPECT_EQ(*log->EndOffset("events", 1), 1000);
}

TEST_F(EmbeddedLogTest, RoundOfMoreBatchesThanOneWritevTakesIsWrittenInOrderAcrossRolls) {
  // One round, one partition, 2,500 batches: more than IOV_MAX (1,024) buffers per write
  // and, with 128 KiB segments, rolls in the middle of the round.
  auto options = Options();
  options.segment_bytes = 128 << 10;
  options.index_interval_bytes = 1024;
  constexpr int kBatches = 2500;
  std::vector<Record> expected;
  {
    auto log = Open(options);
    ASSERT_TRUE(log->CreateTopic("events", 1).ok());
    ArmFault("log.writer_pause");
    Callbacks callbacks(kBatches);
    std::vector<int64_t> first_offsets;
    for (int b = 0; b < kBatches; ++b) {
      auto records = MakeRecords(b, 1 + b % 3, 30 + (b * 53) % 200);
      first_offsets.push_back(static_cast<int64_t>(expected.size()));
      expected.insert(expected.end(), records.begin(), records.end());
      log->Append("events", 0, std::move(records), callbacks.For(b));
    }
    DisarmFault("log.writer_pause");
    const std::vector<Result<int64_t>>& results = callbacks.Wait();
    for (int b = 0; b < kBatches; ++b) {
      ASSERT_TRUE(results[b].ok()) << results[b].status().ToString();
      ASSERT_EQ(*results[b], first_offsets[b]) << "batch " << b;
    }
    EXPECT_GT(SegmentBases().size(), 2u) << "128 KiB segments should have rolled within the round";
  }
  std::vector<std::string> notes;
  auto log = Open(options, &notes);
  EXPECT_TRUE(notes.empty()) << notes.front();
  std::vector<StoredRecord> got = ReadAll(*log);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].offset, static_cast<int64_t>(i));
    ASSERT_EQ(got[i].key, expected[i].key);
    ASSERT_EQ(got[i].value, expected[i].value);
    ASSERT_EQ(got[i].timestamp_ms, expected[i].timestamp_ms);
  }
}

TEST_F(EmbeddedLogTest, PreallocatedBlocksLeaveTheFileSizeAloneAndAreReleasedAtClose) {
  auto log = Open(Options());
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  for (int b = 0; b < 20; ++b) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(b, 10, 100)).ok());
  struct stat st;
  ASSERT_EQ(::stat(SegmentPath(0).c_str(), &st), 0);
  const int64_t size = st.st_size;
  EXPECT_LT(size, 64 << 10) << "the file holds the batches only";
  EXPECT_GE(static_cast<int64_t>(st.st_blocks) * 512, size);
  log->Close();
  ASSERT_EQ(::stat(SegmentPath(0).c_str(), &st), 0);
  EXPECT_EQ(st.st_size, size);
  EXPECT_LT(static_cast<int64_t>(st.st_blocks) * 512, size + (1 << 20)) << "reserved blocks are given back at close";
  std::vector<std::string> notes;
  auto reopened = Open(Options(), &notes);
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(ReadAll(*reopened).size(), 200u);
}

TEST_F(EmbeddedLogTest, ConcurrentWaitingAppendersNeedFewerFsyncsThanAppends) {
  MetricsRegistry metrics;
  auto options = Options();
  options.metrics = &metrics;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(t, 1)).ok());
    });
  }
  for (auto& th : threads) th.join();
  const uint64_t fsyncs = metrics.GetHistogram("tidemark_log_fsync_seconds", "", LatencyBuckets()).Count();
  EXPECT_LT(fsyncs, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(metrics.GetHistogram("tidemark_log_append_seconds", "", LatencyBuckets()).Count(),
            static_cast<uint64_t>(kThreads * kPerThread));
}

TEST_F(EmbeddedLogTest, SegmentsRollAtSegmentBytesAndReadsSpanThem) {
  auto options = Options();
  options.segment_bytes = 4096;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  std::vector<int64_t> batch_bases;
  for (int b = 0; b < 60; ++b) batch_bases.push_back(*AppendAndWait(*log, "events", 0, MakeRecords(b, 4, 60)));
  std::vector<int64_t> bases = SegmentBases();
  ASSERT_GE(bases.size(), 5u);
  EXPECT_EQ(bases.front(), 0);
  for (size_t i = 0; i < bases.size(); ++i) {
    // Every segment starts at a batch boundary and, but for the active one, is sealed.
    EXPECT_TRUE(std::binary_search(batch_bases.begin(), batch_bases.end(), bases[i]));
    EXPECT_LE(fs::file_size(SegmentPath(bases[i])), 4096u);
    if (i + 1 < bases.size()) {
      EXPECT_TRUE(fs::exists(SegmentPath(bases[i], ".index")));
    }
  }
  // One read crosses every segment boundary.
  auto all = log->Read("events", 0, 2, ReadOptions{.max_bytes = 1 << 20});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 238u);
  for (size_t i = 0; i < all->size(); ++i) ASSERT_EQ((*all)[i].offset, static_cast<int64_t>(i + 2));
  EXPECT_EQ((*all)[237].value, MakeRecords(59, 4, 60)[3].value);
}

TEST_F(EmbeddedLogTest, BatchLargerThanASegmentGetsASegmentOfItsOwn) {
  auto options = Options();
  options.segment_bytes = 1024;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  ASSERT_EQ(*AppendAndWait(*log, "events", 0, MakeRecords(0, 1, 100)), 0);
  ASSERT_EQ(*AppendAndWait(*log, "events", 0, MakeRecords(1, 3, 5000)), 1);
  ASSERT_EQ(*AppendAndWait(*log, "events", 0, MakeRecords(2, 1, 100)), 4);
  EXPECT_EQ(SegmentBases(), (std::vector<int64_t>{0, 1, 4}));
  EXPECT_EQ(ReadAll(*log).size(), 5u);
}

TEST_F(EmbeddedLogTest, ReadFromTheMiddleStartsAtTheIndexedBatch) {
  auto options = Options();
  options.index_interval_bytes = 1024;
  options.segment_bytes = 8192;  // about 17 batches per segment
  {
    auto log = Open(options);
    ASSERT_TRUE(log->CreateTopic("events", 1).ok());
    for (int b = 0; b < 50; ++b) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(b, 2, 200)).ok());
  }
  // Wreck the first batch's length field. The first segment is sealed with a known-good
  // index, so the reopen does not scan it; a read that walked from byte 0 would now fail.
  {
    std::fstream f(SegmentPath(0), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.write("\xff\xff\xff\x7f", 4);
  }
  auto log = Open(options);
  ASSERT_GT(SegmentBases().size(), 1u);
  ASSERT_GT(SegmentBases()[1], 21);
  auto middle = log->Read("events", 0, 21, ReadOptions{.max_records = 3});
  ASSERT_TRUE(middle.ok()) << middle.status().ToString();
  ASSERT_EQ(middle->size(), 3u);
  EXPECT_EQ((*middle)[0].offset, 21);
  EXPECT_EQ((*middle)[0].value, MakeRecords(10, 2, 200)[1].value);
  EXPECT_EQ(log->Read("events", 0, 0).status().ToString(),
            "Corruption: events/0/00000000000000000000.log: invalid batch header at byte 0 "
            "(batch length 2147483647 out of range)");
}

TEST_F(EmbeddedLogTest, ReadReportsACrcMismatchWithFileAndByte) {
  auto options = Options();
  options.segment_bytes = 1024;
  {
    auto log = Open(options);
    ASSERT_TRUE(log->CreateTopic("events", 1).ok());
    for (int b = 0; b < 12; ++b) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(b, 2, 100)).ok());
  }
  // Bit rot in a sealed segment: recovery trusts its index, so only a read can notice.
  ASSERT_GE(SegmentBases().size(), 3u);
  const int64_t second = SegmentBases()[1];
  const uintmax_t size = fs::file_size(SegmentPath(second));
  {
    std::fstream f(SegmentPath(second), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 5));
    f.put('#');
  }
  std::vector<std::string> notes;
  auto log = Open(options, &notes);
  EXPECT_TRUE(notes.empty());
  auto bad = log->Read("events", 0, 0, ReadOptions{.max_bytes = 1 << 20});
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(bad.status().message().starts_with(fmt::format("events/0/{:020d}.log: CRC mismatch in batch at byte ", second)))
      << bad.status().message();
  EXPECT_EQ(log->Read("events", 0, 0, ReadOptions{.max_records = 2})->size(), 2u) << "records before it still read";
  RecordViews views;
  Status viewed = log->ReadViews("events", 0, 0, ReadOptions{.max_bytes = 1 << 20}, &views);
  EXPECT_EQ(viewed.message(), bad.status().message());
  EXPECT_TRUE(views.empty());
}

// A read of views keeps every byte it read: batches that cross the end of one pread are
// completed by the next one, in the same growing buffer, and the views see them whole.
TEST_F(EmbeddedLogTest, ReadViewsOfMegabytesMatchCopiesPlainAndCompressed) {
  for (const Codec codec : {Codec::kNone, Codec::kZstd}) {
    auto options = Options();
    options.dir = (fs::path(options.dir) / (codec == Codec::kNone ? "plain" : "zstd")).string();
    options.compression = codec;
    options.segment_bytes = 3 << 20;
    auto log = Open(options);
    ASSERT_TRUE(log->CreateTopic("events", 1).ok());
    for (int b = 0; b < 40; ++b) {
      std::vector<Record> batch = MakeRecords(b, 37, 3000 + 7 * static_cast<size_t>(b));
      batch[5].headers = {{"event_time", std::to_string(b)}};
      ASSERT_TRUE(AppendAndWait(*log, "events", 0, std::move(batch)).ok());
    }
    RecordViews views;
    ReadBatch copies;
    for (const int64_t from : {0, 300, 1000}) {
      for (const size_t max_bytes : {size_t{1} << 20, size_t{700} << 10, size_t{64} << 20}) {
        const ReadOptions options{.max_bytes = max_bytes};
        ASSERT_TRUE(log->ReadInto("events", 0, from, options, &copies).ok());
        ASSERT_TRUE(log->ReadViews("events", 0, from, options, &views).ok());
        ASSERT_EQ(views.size(), copies.size());
        ASSERT_GT(views.size(), 200u);
        for (size_t i = 0; i < views.size(); ++i) {
          ASSERT_EQ(views[i].offset, copies[i].offset);
          ASSERT_EQ(views[i].value, copies[i].value) << "offset " << copies[i].offset;
          ASSERT_EQ(views[i].key, copies[i].key);
          ASSERT_EQ(HeaderValue(views[i].headers, "event_time"), HeaderValue(copies[i].headers, "event_time"));
        }
      }
    }
  }
}

// Writes four batches and a fifth, then lets the test damage the fifth and reopens.
class RecoveryTest : public EmbeddedLogTest {
 protected:
  void WriteFiveBatches() {
    auto log = Open(Options());
    ASSERT_TRUE(log->CreateTopic("events", 1).ok());
    for (int b = 0; b < 4; ++b) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(b, 3)).ok());
    size_before_last_ = static_cast<int64_t>(fs::file_size(SegmentPath(0)));
    ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(4, 3)).ok());
    size_ = static_cast<int64_t>(fs::file_size(SegmentPath(0)));
  }
  int64_t size_before_last_ = 0;
  int64_t size_ = 0;
};

TEST_F(RecoveryTest, TruncatedTrailingBatch) {
  WriteFiveBatches();
  fs::resize_file(SegmentPath(0), static_cast<uintmax_t>(size_ - 10));
  std::vector<std::string> notes;
  auto log = Open(Options(), &notes);
  ASSERT_EQ(notes.size(), 1u);
  const int64_t batch = size_ - size_before_last_;
  EXPECT_EQ(notes[0], fmt::format("events/0/00000000000000000000.log: torn batch at byte {} ({} of {} bytes "
                                  "present), truncated 1 batch ({} bytes)",
                                  size_before_last_, batch - 10, batch, batch - 10));
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(SegmentPath(0))), size_before_last_);
  EXPECT_EQ(*log->EndOffset("events", 0), 12);
  EXPECT_EQ(ReadAll(*log).size(), 12u);
  EXPECT_EQ(*AppendAndWait(*log, "events", 0, MakeRecords(9, 1)), 12);
}

TEST_F(RecoveryTest, BitFlipInLastBatch) {
  WriteFiveBatches();
  {
    std::fstream f(SegmentPath(0), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(size_before_last_ + 50);
    char c = 0;
    f.seekg(size_before_last_ + 50);
    f.get(c);
    f.seekp(size_before_last_ + 50);
    f.put(static_cast<char>(c ^ 0x04));
  }
  std::vector<std::string> notes;
  auto log = Open(Options(), &notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], fmt::format("events/0/00000000000000000000.log: CRC mismatch at byte {}, truncated 1 batch "
                                  "({} bytes)",
                                  size_before_last_, size_ - size_before_last_));
  EXPECT_EQ(*log->EndOffset("events", 0), 12);
  std::vector<StoredRecord> got = ReadAll(*log);
  ASSERT_EQ(got.size(), 12u);
  EXPECT_EQ(got.back().value, MakeRecords(3, 3)[2].value);
}

TEST_F(RecoveryTest, ZeroFilledTailFromALostWriteIsCut) {
  WriteFiveBatches();
  fs::resize_file(SegmentPath(0), static_cast<uintmax_t>(size_ + 4096));  // size grew, data never landed
  std::vector<std::string> notes;
  auto log = Open(Options(), &notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], fmt::format("events/0/00000000000000000000.log: invalid batch header at byte {} (batch "
                                  "length 0 out of range), truncated 1 batch (4096 bytes)",
                                  size_));
  EXPECT_EQ(*log->EndOffset("events", 0), 15);
}

TEST_F(RecoveryTest, CorruptUnsealedOlderSegmentDropsTheSegmentsAfterIt) {
  auto options = Options();
  options.segment_bytes = 1024;
  {
    auto log = Open(options);
    ASSERT_TRUE(log->CreateTopic("events", 1).ok());
    for (int b = 0; b < 20; ++b) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(b, 2, 100)).ok());
  }
  std::vector<int64_t> bases = SegmentBases();
  ASSERT_GE(bases.size(), 4u);
  // The second segment lost its index (as after a crash mid-roll) and its last byte.
  fs::remove(SegmentPath(bases[1], ".index"));
  const auto size = fs::file_size(SegmentPath(bases[1]));
  {
    std::fstream f(SegmentPath(bases[1]), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 1));
    f.put('~');
  }
  std::vector<std::string> notes;
  auto log = Open(options, &notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_TRUE(notes[0].starts_with(fmt::format("events/0/{:020d}.log: CRC mismatch at byte ", bases[1])))
      << notes[0];
  EXPECT_TRUE(notes[0].ends_with(fmt::format(", truncated 1 batch ({} bytes), dropped {} later segments",
                                             size - fs::file_size(SegmentPath(bases[1])), bases.size() - 2)))
      << notes[0];
  EXPECT_EQ(SegmentBases(), (std::vector<int64_t>{bases[0], bases[1]}));
  const int64_t end = *log->EndOffset("events", 0);
  EXPECT_LT(end, bases[2]);
  EXPECT_EQ(static_cast<int64_t>(ReadAll(*log).size()), end);
}

TEST_F(EmbeddedLogTest, WrittenRecordsStayInvisibleUntilSynced) {
  auto log = Open(Options());
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(0, 2)).ok());
  const auto synced_size = fs::file_size(SegmentPath(0));
  ArmFault("log.writer_pause_before_sync");
  Callbacks callbacks(1);
  log->Append("events", 0, MakeRecords(1, 3), callbacks.For(0));
  while (fs::file_size(SegmentPath(0)) == synced_size) std::this_thread::yield();  // written, not synced
  EXPECT_EQ(*log->EndOffset("events", 0), 2);
  EXPECT_EQ(log->Read("events", 0, 0)->size(), 2u);
  EXPECT_EQ(log->Read("events", 0, 3).status().code(), StatusCode::kOutOfRange);
  DisarmFault("log.writer_pause_before_sync");
  EXPECT_EQ(*callbacks.Wait()[0], 2);
  EXPECT_EQ(log->Read("events", 0, 0)->size(), 5u);
}

TEST_F(EmbeddedLogTest, GroupCommitWindowStillCompletesEveryAppend) {
  auto options = Options();
  options.fsync_max_wait_us = 500;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 2).ok());
  Callbacks callbacks(100);
  for (int i = 0; i < 100; ++i) log->Append("events", i % 2, MakeRecords(i, 1), callbacks.For(i));
  for (const auto& r : callbacks.Wait()) EXPECT_TRUE(r.ok());
  EXPECT_EQ(*log->EndOffset("events", 0) + *log->EndOffset("events", 1), 100);
}

TEST_F(EmbeddedLogTest, FsyncFailureFailsTheCallbackAndServesNothing) {
  auto log = Open(Options());
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(0, 2)).ok());
  const auto size = fs::file_size(SegmentPath(0));

  ArmFault("log.fsync_fails");
  auto failed = AppendAndWait(*log, "events", 0, MakeRecords(1, 5));
  EXPECT_EQ(failed.status().ToString(),
            fmt::format("IOError: fdatasync({}) [fault point log.fsync_fails]: Input/output error", SegmentPath(0)));
  EXPECT_EQ(*log->EndOffset("events", 0), 2);
  EXPECT_EQ(log->Read("events", 0, 0)->size(), 2u);
  EXPECT_EQ(fs::file_size(SegmentPath(0)), size) << "the failed batch is truncated off";

  DisarmFault("log.fsync_fails");
  EXPECT_EQ(*AppendAndWait(*log, "events", 0, MakeRecords(2, 1)), 2) << "offsets continue without a hole";
  std::vector<StoredRecord> got = ReadAll(*log);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].value, MakeRecords(2, 1)[0].value);
}

TEST_F(EmbeddedLogTest, DiskFullFailsWithResourceExhaustedAndLeavesNoPartialBatch) {
  auto log = Open(Options());
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(0, 2)).ok());
  const auto size = fs::file_size(SegmentPath(0));
  ArmFault("log.write_enospc");
  auto failed = AppendAndWait(*log, "events", 0, MakeRecords(1, 5, 1000));
  EXPECT_EQ(failed.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(failed.status().message().find("No space left on device"), std::string::npos);
  EXPECT_EQ(fs::file_size(SegmentPath(0)), size);
  DisarmFault("log.write_enospc");
  EXPECT_EQ(*AppendAndWait(*log, "events", 0, MakeRecords(2, 1)), 2);
  log.reset();
  std::vector<std::string> notes;
  log = Open(Options(), &notes);
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(ReadAll(*log).size(), 3u);
}

TEST_F(EmbeddedLogTest, AppendFailsUnavailableWhenPendingBytesExceedTheBound) {
  MetricsRegistry metrics;
  auto options = Options();
  options.max_pending_bytes = 1000;
  options.metrics = &metrics;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  ArmFault("log.writer_pause");
  Callbacks callbacks(2);
  // 1 + 583 bytes of key and value plus 16 of overhead: 600 bytes each.
  log->Append("events", 0, {{"k", std::string(583, 'v'), 1}}, callbacks.For(0));
  EXPECT_EQ(metrics.GetGauge("tidemark_log_pending_bytes", "").Value(), 600);
  log->Append("events", 0, {{"k", std::string(583, 'v'), 1}}, callbacks.For(1));
  DisarmFault("log.writer_pause");
  const auto& results = callbacks.Wait();
  EXPECT_EQ(*results[0], 0);
  EXPECT_EQ(results[1].status().ToString(),
            "Unavailable: log: 1200 bytes pending fsync exceed log.max_pending_bytes (1000); retry later");
  EXPECT_EQ(metrics.GetGauge("tidemark_log_pending_bytes", "").Value(), 0);
  EXPECT_EQ(*AppendAndWait(*log, "events", 0, {{"k", std::string(583, 'v'), 1}}), 1);
}

TEST_F(EmbeddedLogTest, RetentionBySizeDeletesTheOldestSegments) {
  auto options = Options();
  options.segment_bytes = 1024;
  options.retention_bytes = 3000;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  for (int b = 0; b < 30; ++b) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(b, 2, 100)).ok());
  const std::vector<int64_t> before = SegmentBases();
  ASSERT_GT(before.size(), 4u);
  std::map<int64_t, uintmax_t> sizes;
  for (int64_t base : before) sizes[base] = fs::file_size(SegmentPath(base));
  ASSERT_TRUE(log->EnforceRetention().ok());
  const std::vector<int64_t> after = SegmentBases();
  ASSERT_LT(after.size(), before.size());
  EXPECT_EQ(after.back(), before.back()) << "the active segment stays";
  uintmax_t kept = 0;
  for (int64_t base : after) kept += fs::file_size(SegmentPath(base));
  EXPECT_LE(kept, 3000u);
  const int64_t newest_deleted = before[before.size() - after.size() - 1];
  EXPECT_GT(kept + sizes[newest_deleted], 3000u) << "no more than needed was deleted";
  const int64_t start = *log->StartOffset("events", 0);
  EXPECT_EQ(start, after.front());
  EXPECT_EQ(log->Read("events", 0, start - 1).status().code(), StatusCode::kOutOfRange);
  auto first = log->Read("events", 0, start);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->front().offset, start);
  EXPECT_EQ(static_cast<int64_t>(ReadAll(*log).size()), 60 - start);
}

TEST_F(EmbeddedLogTest, RetentionByAgeDeletesSegmentsWhoseNewestRecordIsTooOld) {
  ManualClock clock(10'000'000);
  auto options = Options();
  options.segment_bytes = 1024;
  options.retention_ms = 1'000'000;
  options.clock = &clock;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 1).ok());
  for (int b = 0; b < 10; ++b) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(b, 2, 100, 1000)).ok());
  int64_t first_new = -1;
  for (int b = 10; b < 20; ++b) {
    int64_t base = *AppendAndWait(*log, "events", 0, MakeRecords(b, 2, 100, 9'500'000));
    if (first_new < 0) first_new = base;
  }
  ASSERT_TRUE(log->EnforceRetention().ok());
  const int64_t start = *log->StartOffset("events", 0);
  EXPECT_GT(start, 0);
  EXPECT_LE(start, first_new) << "a segment holding a recent record stays";
  for (int64_t base : SegmentBases()) EXPECT_GE(base, start);

  clock.Advance(100'000'000);  // now everything is old; only the active segment may stay
  ASSERT_TRUE(log->EnforceRetention().ok());
  EXPECT_EQ(SegmentBases().size(), 1u);
  EXPECT_EQ(*log->StartOffset("events", 0), SegmentBases().front());
  EXPECT_EQ(*log->EndOffset("events", 0), 40);
}

TEST_F(EmbeddedLogTest, ZstdBatchesRoundTripAndShrinkTheFiles) {
  auto options = Options();
  options.compression = Codec::kZstd;
  std::vector<Record> all;
  {
    auto log = Open(options);
    ASSERT_TRUE(log->CreateTopic("events", 1).ok());
    for (int b = 0; b < 20; ++b) {
      auto records = MakeRecords(b, 50, 400);
      all.insert(all.end(), records.begin(), records.end());
      ASSERT_TRUE(AppendAndWait(*log, "events", 0, std::move(records)).ok());
    }
  }
  EXPECT_LT(fs::file_size(SegmentPath(0)), 20u * 50 * 400 / 4);
  auto log = Open(options);
  std::vector<StoredRecord> got = ReadAll(*log);
  ASSERT_EQ(got.size(), all.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].value, all[i].value);
    ASSERT_EQ(got[i].key, all[i].key);
  }
  auto middle = log->Read("events", 0, 517, ReadOptions{.max_records = 1});
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(middle->front().value, all[517].value);
}

TEST_F(EmbeddedLogTest, MetricsCountDurableRecordsAndBytesPerTopic) {
  MetricsRegistry metrics;
  auto options = Options();
  options.metrics = &metrics;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 2).ok());
  ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(0, 3)).ok());
  ASSERT_TRUE(AppendAndWait(*log, "events", 1, MakeRecords(1, 4)).ok());
  EXPECT_EQ(metrics.GetCounter("tidemark_log_appended_records_total", "", {{"topic", "events"}}).Value(), 7u);
  EXPECT_EQ(metrics.GetCounter("tidemark_log_appended_bytes_total", "", {{"topic", "events"}}).Value(),
            fs::file_size(SegmentPath(0)) + fs::file_size(PartitionDir(1) + "/00000000000000000000.log"));
  const std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find("tidemark_log_append_seconds_count 2"), std::string::npos) << text;
  EXPECT_NE(text.find("tidemark_log_fsync_seconds_count 2"), std::string::npos) << text;
  EXPECT_NE(text.find("tidemark_log_pending_bytes 0"), std::string::npos) << text;
}

TEST_F(EmbeddedLogTest, StandardTopicsAreCreatedWithConfiguredPartitionsAndReopened) {
  Config config;
  ASSERT_TRUE(config.Set("topics.user_events.partitions", "5").ok());
  {
    auto log = Open(EmbeddedLogOptionsFromConfig(config, dir_.path()));
    ASSERT_TRUE(CreateStandardTopics(*log, config).ok());
    ASSERT_TRUE(CreateStandardTopics(*log, config).ok()) << "idempotent";
  }
  auto log = Open(EmbeddedLogOptionsFromConfig(config, dir_.path()));
  EXPECT_EQ(log->Topics(), (std::vector<std::string>{"_deletions", "_schemas", "dlq-events", "late-events",
                                                     "server-events", "user-events"}));
  EXPECT_EQ(*log->PartitionCount(kUserEvents), 5);
  EXPECT_EQ(*log->PartitionCount(kServerEvents), 4);
  EXPECT_EQ(*log->PartitionCount(kSchemas), 1);
  EXPECT_EQ(*log->PartitionCount(kDeletions), 1);
}

TEST_F(EmbeddedLogTest, OptionsFromConfigReadTheLogSettings) {
  Config config;
  ASSERT_TRUE(config.Set("log.compression", "zstd").ok());
  ASSERT_TRUE(config.Set("log.retention_hours", "2").ok());
  ASSERT_TRUE(config.Set("log.segment_bytes", "1048576").ok());
  EmbeddedLogOptions o = EmbeddedLogOptionsFromConfig(config, "/data/log");
  EXPECT_EQ(o.dir, "/data/log");
  EXPECT_EQ(o.compression, Codec::kZstd);
  EXPECT_EQ(o.retention_ms, 2 * 3600 * 1000);
  EXPECT_EQ(o.segment_bytes, 1048576);
  EXPECT_EQ(o.max_pending_bytes, 268435456);
  EXPECT_EQ(o.sync_threads, 4);
  EXPECT_TRUE(o.fsync);
}

TEST_F(EmbeddedLogTest, InvalidOptionsAreRefusedWithTheSettingName) {
  auto options = Options();
  options.segment_bytes = 0;
  auto log = OpenEmbeddedLog(options);
  EXPECT_EQ(log.status().ToString(), "InvalidArgument: log.segment_bytes must be 1 to 2147483647, not 0");
  options = Options();
  options.sync_threads = 0;
  EXPECT_EQ(OpenEmbeddedLog(options).status().ToString(), "InvalidArgument: log.sync_threads must be 1 to 64, not 0");
}

TEST_F(EmbeddedLogTest, ARoundOverManyPartitionsCompletesEveryAppendWithOrWithoutSyncHelpers) {
  for (int sync_threads : {1, 3}) {
    ScratchDir dir;
    MetricsRegistry metrics;
    auto options = Options();
    options.dir = dir.path();
    options.sync_threads = sync_threads;
    options.metrics = &metrics;
    auto log = Open(options);
    ASSERT_TRUE(log->CreateTopic("events", 12).ok());
    ArmFault("log.writer_pause");
    Callbacks callbacks(120);
    for (int b = 0; b < 120; ++b) log->Append("events", b % 12, MakeRecords(b, 2), callbacks.For(b));
    DisarmFault("log.writer_pause");
    const auto& results = callbacks.Wait();
    for (int b = 0; b < 120; ++b) {
      ASSERT_TRUE(results[b].ok()) << results[b].status().ToString();
      EXPECT_EQ(*results[b], (b / 12) * 2) << "batch " << b << ", sync_threads " << sync_threads;
    }
    Histogram& fsyncs = metrics.GetHistogram("tidemark_log_fsync_seconds", "", LatencyBuckets());
    EXPECT_EQ(fsyncs.Count(), 12u) << "one round, one sync per partition, sync_threads " << sync_threads;
    for (int p = 0; p < 12; ++p) EXPECT_EQ(*log->EndOffset("events", p), 20);
  }
}

TEST_F(EmbeddedLogTest, FsyncFailureOnSyncHelpersFailsEveryPartitionsAppends) {
  auto options = Options();
  options.sync_threads = 4;
  auto log = Open(options);
  ASSERT_TRUE(log->CreateTopic("events", 6).ok());
  ArmFault("log.writer_pause");
  Callbacks callbacks(6);
  for (int p = 0; p < 6; ++p) log->Append("events", p, MakeRecords(p, 3), callbacks.For(p));
  ArmFault("log.fsync_fails");
  DisarmFault("log.writer_pause");
  const auto& results = callbacks.Wait();
  DisarmFault("log.fsync_fails");
  for (int p = 0; p < 6; ++p) {
    ASSERT_FALSE(results[p].ok());
    EXPECT_EQ(results[p].status().code(), StatusCode::kIOError) << results[p].status().ToString();
    EXPECT_EQ(*log->EndOffset("events", p), 0) << "nothing of a failed round is served";
  }
  EXPECT_EQ(*AppendAndWait(*log, "events", 0, MakeRecords(9, 1)), 0) << "the partition takes appends again";
}

TEST_F(EmbeddedLogTest, CrashAfterWriteBeforeFsyncKeepsAcknowledgedRecords) {
  {
    auto log = Open(Options());
    ASSERT_TRUE(log->CreateTopic("events", 1).ok());
    for (int b = 0; b < 3; ++b) ASSERT_TRUE(AppendAndWait(*log, "events", 0, MakeRecords(b, 2)).ok());
  }
  GTEST_FLAG_SET(death_test_style, "fast");  // no log threads exist here; fork is safe
  EXPECT_EXIT(
      {
        auto log = OpenEmbeddedLog(Options());
        ArmFault("log.crash_after_write_before_fsync");
        (void)AppendAndWait(*log.value(), "events", 0, MakeRecords(3, 2));
      },
      ::testing::ExitedWithCode(137), "");
  std::vector<std::string> notes;
  auto log = Open(Options(), &notes);
  // The unacknowledged batch may or may not have survived; the acknowledged ones must have,
  // and whatever is there must read back whole.
  const int64_t end = *log->EndOffset("events", 0);
  EXPECT_TRUE(end == 6 || end == 8) << end;
  std::vector<StoredRecord> got = ReadAll(*log);
  ASSERT_EQ(static_cast<int64_t>(got.size()), end);
  EXPECT_EQ(got[5].value, MakeRecords(2, 2)[1].value);
}

}  // namespace
}  // namespace tidemark::log

namespace tidemark::log {
namespace {

TEST(ReadOnlyOpenTest, ServesRecordsButNeverChangesAFile) {
  const std::string dir = ::testing::TempDir() + "/readonly-log-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  {
    EmbeddedLogOptions o;
    o.dir = dir;
    auto lg = OpenEmbeddedLog(o);
    ASSERT_TRUE(lg.ok());
    ASSERT_TRUE((*lg)->CreateTopic("t", 1).ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(AppendAndWait(**lg, "t", 0, {{"k", "value-" + std::to_string(i), 1}}).ok());
    }
  }
  const std::string segment = dir + "/t/0/00000000000000000000.log";
  const auto size = std::filesystem::file_size(segment);
  std::filesystem::resize_file(segment, size - 3);  // a torn tail
  EmbeddedLogOptions ro;
  ro.dir = dir;
  ro.read_only = true;
  std::vector<std::string> notes;
  auto lg = OpenEmbeddedLog(ro, &notes);
  ASSERT_TRUE(lg.ok()) << lg.status().ToString();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("not serving 1 batch"), std::string::npos) << notes[0];
  EXPECT_EQ(*(*lg)->EndOffset("t", 0), 2);
  auto append = AppendAndWait(**lg, "t", 0, {{"k", "v", 1}});
  EXPECT_EQ(append.status().code(), StatusCode::kUnavailable);
  lg->reset();
  EXPECT_EQ(std::filesystem::file_size(segment), size - 3) << "a read-only open must not truncate";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tidemark::log
