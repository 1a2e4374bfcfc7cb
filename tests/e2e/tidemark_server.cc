#include "e2e/tidemark_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <simdjson.h>

#include "common/files.h"

namespace tidemark::testing {

std::string TidemarkBinary() {
  if (const char* env = std::getenv("TIDEMARK_BIN")) return env;
  return TIDEMARK_BIN;
}

uint16_t FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TidemarkServer::TidemarkServer(std::vector<std::string> extra_args,
                               std::vector<std::string> extra_env)
    : extra_args_(std::move(extra_args)), extra_env_(std::move(extra_env)) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tidemark-e2e-XXXXXX").string();
  data_dir_ = ::mkdtemp(tmpl.data());
  output_path_ = data_dir_ + ".out";
  port_ = FreeLoopbackPort();
}

TidemarkServer::~TidemarkServer() {
  if (process_.running()) Kill();
  if (!std::getenv("TIDEMARK_KEEP_TEST_DATA")) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
    std::filesystem::remove(output_path_, ec);
  }
}

Status TidemarkServer::Start() {
  std::vector<std::string> argv = {TidemarkBinary(), "serve", "--data", data_dir_, "--listen",
                                   "127.0.0.1:" + std::to_string(port_)};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  // Tests run beside each other and beside `make run`: never the fixed default port.
  if (std::find(extra_args_.begin(), extra_args_.end(), "--registry-listen") == extra_args_.end()) {
    argv.insert(argv.end(), {"--registry-listen", "127.0.0.1:0"});
  }
  const size_t output_before = Output().size();
  RETURN_IF_ERROR(process_.Start(argv, output_path_, extra_env_));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (process_.WaitFor(0) >= 0) {
      return Status::Unavailable("tidemark serve exited during start:\n" + Output());
    }
    cli::HttpConnection conn("127.0.0.1", port_);
    auto r = conn.Request("GET", "/readyz");
    if (r.ok() && r->status == 200) {
      // Printed before the main listener turns ready; this start's line, not an earlier one.
      constexpr std::string_view kRegistryLine = "tidemark registry listening: http://";
      const std::string output = Output().substr(output_before);
      registry_port_ = 0;
      if (size_t at = output.find(kRegistryLine); at != std::string::npos) {
        size_t colon = output.find(':', at + kRegistryLine.size());
        if (colon != std::string::npos) registry_port_ = static_cast<uint16_t>(std::atoi(output.c_str() + colon + 1));
      }
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("tidemark serve not ready after 60 s:\n" + Output());
}

void TidemarkServer::Kill() {
  process_.Signal(SIGKILL);
  process_.Wait();
}

int TidemarkServer::Terminate() {
  process_.Signal(SIGTERM);
  return process_.Wait();
}

std::string TidemarkServer::CreateKey(const std::string& source, const std::string& platform,
                                      const std::string& scopes) {
  auto r = RunCommand({TidemarkBinary(), "keys", "create", "--data", data_dir_, "--source", source,
                       "--platform", platform, "--scopes", scopes});
  std::string key = r.out;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

std::vector<DumpedRecord> TidemarkServer::Dump(const std::string& topic) {
  auto r = RunCommand({TidemarkBinary(), "log", "dump", "--data", data_dir_, "--topic", topic});
  std::vector<DumpedRecord> out;
  if (r.exit_code != 0) return out;
  simdjson::dom::parser parser;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    simdjson::dom::element doc;
    if (parser.parse(line).get(doc) != simdjson::SUCCESS) continue;
    DumpedRecord rec;
    rec.topic = std::string(doc["topic"].get_string().value());
    rec.partition = static_cast<int>(doc["partition"].get_int64().value());
    rec.offset = doc["offset"].get_int64().value();
    rec.key = std::string(doc["key"].get_string().value());
    rec.timestamp = doc["timestamp"].get_int64().value();
    rec.value = simdjson::minify(doc["value"].value());
    simdjson::dom::object headers;
    if (doc["headers"].get(headers) == simdjson::SUCCESS) {
      for (auto h : headers) {
        std::string_view v;
        if (h.value.get(v) == simdjson::SUCCESS) rec.headers[std::string(h.key)] = std::string(v);
      }
    }
    out.push_back(std::move(rec));
  }
  return out;
}

std::string TidemarkServer::Output() const {
  auto r = ReadFileToString(output_path_);
  return r.ok() ? *r : "";
}

Result<cli::HttpResult> TidemarkServer::Post(
    const std::string& path, const std::string& body, const std::string& key,
    std::vector<std::pair<std::string, std::string>> headers) {
  cli::HttpConnection conn("127.0.0.1", port_);
  if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
  headers.emplace_back("Content-Type", "application/json");
  return conn.Request("POST", path, body, headers);
}

Result<cli::HttpResult> TidemarkServer::Get(const std::string& path, const std::string& key) {
  cli::HttpConnection conn("127.0.0.1", port_);
  std::vector<std::pair<std::string, std::string>> headers;
  if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
  return conn.Request("GET", path, "", headers);
}

}  // namespace tidemark::testing
