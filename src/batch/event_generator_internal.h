// Realistic bronze event data for the batch tests and benchmark (not part of tidemark's
// runtime): users with a platform, returning on later days, sessions of page views, clicks
// and screens (mobile with a client session_id, web without), A/B exposures (one experiment
// with a deliberately broken split), purchases with revenue that depends on the variant,
// retried duplicates, late arrivals and some server events.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "lake/parquet.h"

namespace tidemark::batch::testing {

struct GeneratorOptions {
  int64_t events = 100'000;  // unique user events (duplicates and server events come on top)
  int64_t start_day = 20'553;  // days since the epoch (2026-04-10)
  int days = 1;
  double duplicate_share = 0.02;
  // Share of events that arrive late (received hours to days after their event time); the
  // rest arrive within seconds.
  double late_share = 0.01;
  double server_share = 0.03;
  uint64_t seed = 1;
  // Rows per chunk handed to the sink.
  int64_t chunk_rows = 1'000'000;
};

// Bronze user_events schema as the generator fills it: the contract's columns plus two
// context columns (context_device_type STRING, context_geo_lat DOUBLE).
lake::Schema GeneratedUserEventsSchema();

// Calls sink with chunks of rows of GeneratedUserEventsSchema(); `server` says whether the
// chunk belongs to server_events (then it has only the contract's columns).
Status GenerateEvents(const GeneratorOptions& options,
                      const std::function<Status(const lake::ColumnBatch& chunk, bool server)>& sink);

// Creates (or opens) bronze user_events / server_events under data_dir/lake and writes the
// rows for which keep(row) is true as one commit per chunk. keep = nullptr keeps all.
// Returns the number of rows written.
Result<int64_t> WriteBronze(
    const std::string& data_dir, const GeneratorOptions& options,
    const std::function<bool(const lake::ColumnBatch& chunk, size_t row)>& keep = nullptr);

}  // namespace tidemark::batch::testing
