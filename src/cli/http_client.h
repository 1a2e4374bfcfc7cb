// A minimal blocking HTTP/1.1 client over one keep-alive TCP connection, for the load
// generator and the end-to-end tests. It speaks just enough HTTP to talk to tidemark's own
// server (Content-Length bodies, chunked responses), so timing is not skewed by a heavy
// client. Not thread-safe: one connection per thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tidemark::cli {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class HttpConnection {
 public:
  HttpConnection(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request and reads its answer; reconnects once when a kept-alive connection
  // turns out to be closed before anything was answered.
  Result<HttpResult> Request(std::string_view method, std::string_view target,
                             std::string_view body = {},
                             const std::vector<std::pair<std::string, std::string>>& headers = {});
  void Close();

 private:
  Status Connect();
  // Sends head then body with as few syscalls as the socket allows (one writev when it
  // takes everything), so a request's header and body leave together.
  Status SendAll(std::string_view head, std::string_view body);
  Result<HttpResult> ReadResponse();
  Status Fill();  // reads more bytes into buf_

  std::string host_;
  uint16_t port_;
  int fd_ = -1;
  std::string buf_;
  size_t pos_ = 0;
};

// "http://127.0.0.1:8080" → host, port.
Status ParseHttpUrl(std::string_view url, std::string* host, uint16_t* port);

}  // namespace tidemark::cli
