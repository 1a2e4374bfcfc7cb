// The reconciliation ledger of DESIGN §3, per partition and UTC day: received, accepted,
// rejected, duplicates dropped, late and on time. Partition tasks keep their counts in their
// checkpointed state (so replays never double count); `tidemark reconcile` reads them from
// the checkpoints (ReadLedger) or a running StreamService (StreamService::Ledger) and prints
// them with RenderLedger.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "stream/partition_processor.h"

namespace tidemark::stream {

struct LedgerRow {
  std::string topic;  // user-events, server-events, or dlq-events (rejected only)
  int partition = 0;
  std::string day;    // YYYY-MM-DD (UTC, by received_at)
  LedgerCounts counts;
};

// From the checkpoints under data_dir/state (what has been checkpointed, which lags the
// running service by at most one checkpoint interval).
Result<std::vector<LedgerRow>> ReadLedger(const std::string& data_dir);

// A text table per day: one line per partition, then the day's totals with the identities
// received = accepted + rejected, accepted = unique + duplicates (+ undecodable),
// unique = on time + late, each marked ok or MISMATCH.
std::string RenderLedger(const std::vector<LedgerRow>& rows);

}  // namespace tidemark::stream
