// An in-memory Log for unit tests of other stages: same semantics as the embedded log
// (offsets, all-or-nothing batches, callbacks on another thread), no files.
#pragma once

#include <memory>

#include "log/log.h"

namespace tidemark::log {

// Thread-safe. Callbacks run, in append order, on one thread the log owns. StartOffset is
// always 0 (EnforceRetention keeps everything); there is no pending-bytes bound.
std::unique_ptr<Log> NewMemoryLog();

}  // namespace tidemark::log
