// `tidemark batch run`, `tidemark report …` and the batch part of `tidemark reconcile`.
#pragma once

#include <string>

namespace tidemark::cli {

int BatchRun(const std::string& data_dir, const std::string& date, const std::string& through);
// kind: daily|retention|cohorts|ab; format: table|json|csv.
int Report(const std::string& data_dir, const std::string& kind, const std::string& format,
           const std::string& from, const std::string& through, const std::string& experiment);
// Prints the batch layers' ledger; returns 0 when every date balances.
int ReconcileBatchLayers(const std::string& data_dir, const std::string& date);

}  // namespace tidemark::cli
