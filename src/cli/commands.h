// The `tidemark` subcommands other than serve, each a function returning the exit code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tidemark::cli {

int KeysCreate(const std::string& data_dir, const std::string& source, const std::string& platform,
               const std::string& scopes_csv);
int KeysList(const std::string& data_dir);
int KeysRevoke(const std::string& data_dir, const std::string& id);

struct LogDumpOptions {
  std::string data_dir;
  std::string topic;
  int partition = -1;  // -1: every partition
  int64_t from = 0;
  int64_t limit = -1;  // -1: all
  bool raw_values = false;  // also print each value's bytes as "value_hex"
};
int LogDump(const LogDumpOptions& options);

}  // namespace tidemark::cli
