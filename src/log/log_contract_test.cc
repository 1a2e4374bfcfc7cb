// The Log contract (log.h), run against every implementation: the in-memory log that other
// stages test with must behave like the embedded log they run with.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <ostream>
#include <set>
#include <thread>

#include "log/embedded_log.h"
#include "log/log.h"
#include "log/log_test_util_internal.h"
#include "log/memory_log.h"

namespace tidemark::log {
namespace {

using testing::MakeRecords;
using testing::ScratchDir;

struct Implementation {
  const char* name;
  std::function<std::unique_ptr<Log>(const std::string& dir)> open;
};

// So that test listings show "Memory"/"Embedded" rather than the struct's bytes.
void PrintTo(const Implementation& implementation, std::ostream* os) { *os << implementation.name; }

class LogContractTest : public ::testing::TestWithParam<Implementation> {
 protected:
  void SetUp() override {
    log_ = GetParam().open(dir_.path());
    ASSERT_NE(log_, nullptr);
    ASSERT_TRUE(log_->CreateTopic("events", 3).ok());
  }

  ScratchDir dir_;
  std::unique_ptr<Log> log_;
};

// Counts callbacks down to zero; remembers each result.
class Waiter {
 public:
  explicit Waiter(int n) : remaining_(n) {}
  AppendCallback Callback(Result<int64_t>* slot) {
    return [this, slot](Result<int64_t> r) {
      std::lock_guard<std::mutex> lock(mu_);
      *slot = std::move(r);
      if (--remaining_ == 0) cv_.notify_all();
    };
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return remaining_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int remaining_;
};

TEST_P(LogContractTest, OffsetsStartAtZeroAndAdvanceByBatchSize) {
  EXPECT_EQ(*AppendAndWait(*log_, "events", 1, MakeRecords(0, 3)), 0);
  EXPECT_EQ(*AppendAndWait(*log_, "events", 1, MakeRecords(1, 5)), 3);
  EXPECT_EQ(*AppendAndWait(*log_, "events", 2, MakeRecords(2, 1)), 0);
  EXPECT_EQ(*log_->StartOffset("events", 1), 0);
  EXPECT_EQ(*log_->EndOffset("events", 1), 8);
  EXPECT_EQ(*log_->EndOffset("events", 0), 0);

  auto records = log_->Read("events", 1, 2);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_EQ(records->size(), 6u);
  EXPECT_EQ((*records)[0].offset, 2);
  EXPECT_EQ((*records)[0].value, MakeRecords(0, 3)[2].value);
  EXPECT_EQ((*records)[1].value, MakeRecords(1, 5)[0].value);
  EXPECT_EQ((*records)[1].key, "key-0");
  EXPECT_EQ((*records)[1].timestamp_ms, 1000);
}

TEST_P(LogContractTest, CallbacksRunOnALogOwnedThread) {
  Result<int64_t> result = Status::Internal("unset");
  std::thread::id callback_thread;
  Waiter waiter(1);
  auto inner = waiter.Callback(&result);
  log_->Append("events", 0, MakeRecords(0, 1), [&](Result<int64_t> r) {
    callback_thread = std::this_thread::get_id();
    inner(std::move(r));
  });
  waiter.Wait();
  EXPECT_TRUE(result.ok());
  EXPECT_NE(callback_thread, std::this_thread::get_id());
}

TEST_P(LogContractTest, ReadAtTheEndIsEmptyAndOutsideTheRangeIsOutOfRange) {
  ASSERT_TRUE(AppendAndWait(*log_, "events", 0, MakeRecords(0, 4)).ok());
  auto at_end = log_->Read("events", 0, 4);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->empty());
  EXPECT_EQ(log_->Read("events", 0, 5).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(log_->Read("events", 0, -1).status().code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(log_->Read("events", 2, 0)->empty());
}

TEST_P(LogContractTest, ReadIntoReusesTheBatchItIsGiven) {
  std::vector<Record> with_headers = MakeRecords(0, 3);
  with_headers[0].headers = {{"source", "web-shop"}, {"event_time", "17"}};
  ASSERT_TRUE(AppendAndWait(*log_, "events", 0, std::move(with_headers)).ok());
  ASSERT_TRUE(AppendAndWait(*log_, "events", 0, MakeRecords(1, 2)).ok());
  ReadBatch out;  // its pool holds more records than a read returns, with stale contents
  for (int i = 0; i < 7; ++i) out.Next().key = "stale";
  out.Clear();
  out.Next().headers = {{"stale", "x"}, {"a", "b"}, {"c", "d"}};
  out.Next().value = std::string(10000, 'z');
  out.Clear();
  ASSERT_TRUE(log_->ReadInto("events", 0, 0, ReadOptions{}, &out).ok());
  auto expected = log_->Read("events", 0, 0);
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ(out.size(), 5u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].offset, (*expected)[i].offset);
    EXPECT_EQ(out[i].timestamp_ms, (*expected)[i].timestamp_ms);
    EXPECT_EQ(out[i].key, (*expected)[i].key);
    EXPECT_EQ(out[i].value, (*expected)[i].value);
    EXPECT_EQ(out[i].headers, (*expected)[i].headers) << i;
  }
  EXPECT_EQ(HeaderValue(out[0].headers, "event_time"), "17");
  EXPECT_TRUE(out[1].headers.empty());
  ASSERT_TRUE(log_->ReadInto("events", 0, 4, ReadOptions{}, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].offset, 4);
  EXPECT_TRUE(out[0].headers.empty());
  ASSERT_TRUE(log_->ReadInto("events", 0, 5, ReadOptions{}, &out).ok());
  EXPECT_TRUE(out.empty()) << "at the end: nothing";
  ASSERT_TRUE(log_->ReadInto("events", 0, 0, ReadOptions{}, &out).ok());
  EXPECT_EQ(log_->ReadInto("events", 0, 6, ReadOptions{}, &out).code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(out.empty()) << "an error leaves nothing read";
}

TEST_P(LogContractTest, AReadWithoutKeysLeavesThemEmptyAndTheRestIntact) {
  ASSERT_TRUE(AppendAndWait(*log_, "events", 0, MakeRecords(0, 3)).ok());
  ReadBatch out;
  out.Next().key = "stale";
  out.Clear();
  ReadOptions options;
  options.keys = false;
  ASSERT_TRUE(log_->ReadInto("events", 0, 0, options, &out).ok());
  auto expected = log_->Read("events", 0, 0);
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_FALSE((*expected)[i].key.empty());
    EXPECT_TRUE(out[i].key.empty()) << i;
    EXPECT_EQ(out[i].value, (*expected)[i].value);
    EXPECT_EQ(out[i].headers, (*expected)[i].headers);
  }
}

// ReadViews sees exactly the records ReadInto copies, with the same bounds, across segment
// rolls and (for the compressed variant) inflated sections; each read into the same
// RecordViews replaces what it held, and an error leaves it empty.
TEST_P(LogContractTest, ReadViewsSeesTheRecordsReadIntoCopies) {
  for (int b = 0; b < 30; ++b) {
    std::vector<Record> batch = MakeRecords(b, 3, 150 + 10 * static_cast<size_t>(b % 4));
    batch[static_cast<size_t>(b % 3)].headers = {{"source", "web-shop"}, {"event_time", std::to_string(b)}};
    if (b % 5 == 0) batch[0].headers.push_back({"", ""});
    ASSERT_TRUE(AppendAndWait(*log_, "events", 1, std::move(batch)).ok());
  }
  RecordViews views;
  ReadBatch copies;
  ReadOptions no_keys;
  no_keys.keys = false;
  const ReadOptions bounds[] = {ReadOptions{}, ReadOptions{.max_bytes = 1}, ReadOptions{.max_bytes = 900},
                                ReadOptions{.max_records = 5}, no_keys};
  int reads = 0;
  for (const int64_t from : {0, 1, 7, 44, 89, 90}) {
    for (const ReadOptions& options : bounds) {
      ASSERT_TRUE(log_->ReadInto("events", 1, from, options, &copies).ok());
      ASSERT_TRUE(log_->ReadViews("events", 1, from, options, &views).ok());
      ASSERT_EQ(views.size(), copies.size()) << "from " << from;
      for (size_t i = 0; i < views.size(); ++i) {
        const RecordView& v = views[i];
        const StoredRecord& c = copies[i];
        EXPECT_EQ(v.offset, c.offset);
        EXPECT_EQ(v.timestamp_ms, c.timestamp_ms);
        EXPECT_EQ(v.key, c.key);
        EXPECT_EQ(v.value, c.value);
        ASSERT_EQ(v.headers.size(), c.headers.size()) << "offset " << c.offset;
        for (size_t k = 0; k < c.headers.size(); ++k) {
          EXPECT_EQ(v.headers[k].first, c.headers[k].first);
          EXPECT_EQ(v.headers[k].second, c.headers[k].second);
        }
        EXPECT_EQ(HeaderValue(v.headers, "event_time"), HeaderValue(c.headers, "event_time"));
      }
      ++reads;
    }
  }
  EXPECT_EQ(reads, 30);
  ASSERT_TRUE(log_->ReadViews("events", 1, 0, ReadOptions{}, &views).ok());
  EXPECT_EQ(views.size(), 90u) << "one read spans every segment";
  EXPECT_EQ(views.back().offset, 89);
  EXPECT_EQ(log_->ReadViews("events", 1, 91, ReadOptions{}, &views).code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(views.empty()) << "an error leaves nothing read";
  ASSERT_TRUE(log_->ReadViews("events", 1, 3, ReadOptions{}, &views).ok());
  EXPECT_EQ(log_->ReadViews("events", 9, 0, ReadOptions{}, &views).code(), StatusCode::kNotFound);
  EXPECT_TRUE(views.empty());
}

TEST_P(LogContractTest, UnknownTopicOrPartitionIsNotFound) {
  EXPECT_EQ(log_->Read("nope", 0, 0).status().message(), "log: no topic 'nope'");
  EXPECT_EQ(log_->Read("events", 3, 0).status().message(),
            "log: topic 'events' has 3 partitions; there is no partition 3");
  EXPECT_EQ(AppendAndWait(*log_, "nope", 0, MakeRecords(0, 1)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(AppendAndWait(*log_, "events", -1, MakeRecords(0, 1)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log_->PartitionCount("nope").status().code(), StatusCode::kNotFound);
}

TEST_P(LogContractTest, EmptyAppendIsInvalidArgument) {
  EXPECT_EQ(AppendAndWait(*log_, "events", 0, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*log_->EndOffset("events", 0), 0);
}

TEST_P(LogContractTest, CreateTopicIsIdempotentButRefusesADifferentCount) {
  EXPECT_TRUE(log_->CreateTopic("events", 3).ok());
  Status st = log_->CreateTopic("events", 4);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(st.message(), "log: topic 'events' exists with 3 partitions, not 4");
  EXPECT_EQ(log_->CreateTopic("other", 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->CreateTopic("../escape", 1).message(), "log: topic name '../escape' must be 1-200 of [A-Za-z0-9._-]");
  EXPECT_EQ(*log_->PartitionCount("events"), 3);
  EXPECT_EQ(log_->Topics(), std::vector<std::string>{"events"});
}

TEST_P(LogContractTest, ReadStopsAtMaxBytesButReturnsAtLeastOneRecord) {
  ASSERT_TRUE(AppendAndWait(*log_, "events", 0, MakeRecords(0, 10, 100)).ok());
  auto one = log_->Read("events", 0, 0, ReadOptions{.max_bytes = 1});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto some = log_->Read("events", 0, 3, ReadOptions{.max_bytes = 250});
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 3u);  // 105 + 105 = 210 < 250, the third crosses the bound
  EXPECT_EQ(some->front().offset, 3);
  auto two = log_->Read("events", 0, 0, ReadOptions{.max_records = 2});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
}

TEST_P(LogContractTest, AppendAfterCloseFailsUnavailable) {
  ASSERT_TRUE(AppendAndWait(*log_, "events", 0, MakeRecords(0, 2)).ok());
  log_->Close();
  auto late = AppendAndWait(*log_, "events", 0, MakeRecords(1, 2));
  EXPECT_EQ(late.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(late.status().message(), "log: closed; append to events/0 refused");
  EXPECT_EQ(log_->Read("events", 0, 0)->size(), 2u);  // reads still work
}

TEST_P(LogContractTest, CloseCompletesQueuedAppendsFirst) {
  constexpr int kAppends = 200;
  std::vector<Result<int64_t>> results(kAppends, Status::Internal("unset"));
  Waiter waiter(kAppends);
  for (int i = 0; i < kAppends; ++i) log_->Append("events", i % 3, MakeRecords(i, 2), waiter.Callback(&results[i]));
  log_->Close();
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.status().ToString();
  waiter.Wait();
}

TEST_P(LogContractTest, ConcurrentAppendersGetDistinctContiguousOffsets) {
  constexpr int kThreads = 6, kPerThread = 150;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> bases(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = AppendAndWait(*log_, "events", 1, MakeRecords(t * 1000 + i, 2));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        bases[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> all;
  for (const auto& b : bases) {
    for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]) << "one thread's appends stay in order";
    all.insert(b.begin(), b.end());
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 2 * (kThreads * kPerThread - 1));
  std::vector<StoredRecord> records;
  while (records.size() < 2u * kThreads * kPerThread) {
    auto more = log_->Read("events", 1, static_cast<int64_t>(records.size()));
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    records.insert(records.end(), more->begin(), more->end());
  }
  for (size_t i = 0; i < records.size(); ++i) ASSERT_EQ(records[i].offset, static_cast<int64_t>(i));
}

INSTANTIATE_TEST_SUITE_P(
    AllLogs, LogContractTest,
    ::testing::Values(Implementation{"Memory", [](const std::string&) { return NewMemoryLog(); }},
                      Implementation{"Embedded",
                                     [](const std::string& dir) -> std::unique_ptr<Log> {
                                       EmbeddedLogOptions options;
                                       options.dir = dir;
                                       options.segment_bytes = 4096;  // rolls inside these tests
                                       options.index_interval_bytes = 512;
                                       auto log = OpenEmbeddedLog(options);
                                       return log.ok() ? std::move(log).value() : nullptr;
                                     }},
                      Implementation{"EmbeddedZstd",
                                     [](const std::string& dir) -> std::unique_ptr<Log> {
                                       EmbeddedLogOptions options;
                                       options.dir = dir;
                                       options.segment_bytes = 4096;
                                       options.index_interval_bytes = 512;
                                       options.compression = Codec::kZstd;
                                       auto log = OpenEmbeddedLog(options);
                                       return log.ok() ? std::move(log).value() : nullptr;
                                     }}),
    [](const ::testing::TestParamInfo<Implementation>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tidemark::log
