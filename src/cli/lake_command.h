// `tidemark lake ls|inspect|snapshots|expire`: look at and maintain the lake tables under
// <data>/lake/<layer>/<table> from the command line, beside a running server or not.
#pragma once

#include <cstdint>
#include <string>

namespace tidemark::cli {

struct LakeCommandOptions {
  std::string data_dir = "./data";
  std::string layer = "bronze";
  std::string table;              // empty: every table of the layer
  int64_t keep = 10;              // expire: snapshots to keep (at least 1)
  int64_t grace_ms = 3'600'000;   // expire: unreferenced files younger than this survive
};

// Each prints to stdout and returns the exit code (errors go to stderr, exit 1).
int LakeList(const LakeCommandOptions& options);       // tables with version, files, rows, bytes
int LakeInspect(const LakeCommandOptions& options);    // schema, partitions, offsets, files
int LakeSnapshots(const LakeCommandOptions& options);  // commit history
int LakeExpire(const LakeCommandOptions& options);     // ExpireSnapshots(keep, grace)

}  // namespace tidemark::cli
