// A real `tidemark serve` process for end-to-end tests: its own temporary data directory
// and loopback port (the registry listener on a port the kernel picks, unless extra_args
// give --registry-listen), keys created through the CLI, kill -9 and restart on the same
// data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cli/http_client.h"
#include "common/status.h"
#include "common/subprocess.h"

namespace tidemark::testing {

struct DumpedRecord {
  std::string topic;
  int partition = 0;
  int64_t offset = 0;
  std::string key;
  int64_t timestamp = 0;
  std::string value;  // the value as raw JSON text (Avro values decoded by `log dump`)
  std::map<std::string, std::string> headers;
};

class TidemarkServer {
 public:
  // extra_args are appended to `serve` (e.g. {"--set", "gateway.max_batch_events=10"}).
  explicit TidemarkServer(std::vector<std::string> extra_args = {},
                          std::vector<std::string> extra_env = {});
  ~TidemarkServer();

  // Starts the server and waits until /readyz answers 200.
  Status Start();
  void Kill();       // SIGKILL, then reap
  int Terminate();   // SIGTERM, returns the exit code
  bool running() const { return process_.running(); }
  void set_extra_args(std::vector<std::string> a) { extra_args_ = std::move(a); }
  void set_extra_env(std::vector<std::string> e) { extra_env_ = std::move(e); }

  std::string CreateKey(const std::string& source, const std::string& platform,
                        const std::string& scopes);
  // Every record of a topic, through `tidemark log dump`.
  std::vector<DumpedRecord> Dump(const std::string& topic);
  // What the server printed so far.
  std::string Output() const;

  const std::string& data_dir() const { return data_dir_; }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The schema registry listener, as the last Start() printed it (0 when off).
  uint16_t registry_port() const { return registry_port_; }
  std::string registry_url() const { return "http://127.0.0.1:" + std::to_string(registry_port_); }
  int64_t PeakRssBytes() const { return process_.PeakRssBytes(); }

  Result<cli::HttpResult> Post(const std::string& path, const std::string& body,
                               const std::string& key,
                               std::vector<std::pair<std::string, std::string>> headers = {});
  Result<cli::HttpResult> Get(const std::string& path, const std::string& key = "");

 private:
  std::vector<std::string> extra_args_;
  std::vector<std::string> extra_env_;
  std::string data_dir_;
  std::string output_path_;
  uint16_t port_ = 0;
  uint16_t registry_port_ = 0;
  Subprocess process_;
};

// A port on 127.0.0.1 that was free a moment ago.
uint16_t FreeLoopbackPort();
std::string TidemarkBinary();

}  // namespace tidemark::testing
