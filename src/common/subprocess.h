// Child processes for tools, benchmarks and end-to-end tests: start a program with its
// output sent to a file, signal it, wait for it, read its peak memory. Not thread-safe;
// one owner per Subprocess.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace tidemark {

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();  // SIGKILLs a child still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // argv[0] is the program path. stdout and stderr go (appended) to output_path; extra_env
  // entries ("NAME=value") are added to the inherited environment.
  Status Start(const std::vector<std::string>& argv, const std::string& output_path,
               const std::vector<std::string>& extra_env = {});
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  void Signal(int sig);
  // Waits for exit; returns the exit code, or 128 + signal number.
  int Wait();
  // Waits at most timeout_ms; -1 when still running.
  int WaitFor(int64_t timeout_ms);
  // VmHWM of a running child in bytes (0 when unknown).
  int64_t PeakRssBytes() const;

 private:
  pid_t pid_ = -1;
};

// Runs a program to completion, capturing stdout and stderr separately.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env = {});

}  // namespace tidemark
