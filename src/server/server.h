// `tidemark serve`: wires every stage into one process on an embedded data directory —
// the log (group commit), the gateway, retention — and runs until SIGTERM/SIGINT, then
// drains: stop accepting, answer in-flight requests once their appends are durable, close
// the log, exit 0.
#pragma once

#include <string>

#include "common/config.h"

namespace tidemark::server {

struct ServeOptions {
  std::string data_dir = "./data";
  Config config;  // server.listen already holds the --listen value
};

// Blocks until a termination signal; returns the process exit code.
int RunServe(const ServeOptions& options);

}  // namespace tidemark::server
