#include "cli/http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/files.h"

namespace tidemark::cli {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Status ParseHttpUrl(std::string_view url, std::string* host, uint16_t* port) {
  std::string_view rest = url;
  if (rest.substr(0, 7) == "http://") rest.remove_prefix(7);
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) rest = rest.substr(0, slash);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    *host = std::string(rest);
    *port = 80;
    return Status::Ok();
  }
  *host = std::string(rest.substr(0, colon));
  unsigned p = 0;
  auto r = std::from_chars(rest.data() + colon + 1, rest.data() + rest.size(), p);
  if (r.ec != std::errc() || p == 0 || p > 65535) {
    return Status::InvalidArgument("bad port in URL '" + std::string(url) + "'");
  }
  *port = static_cast<uint16_t>(p);
  return Status::Ok();
}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.clear();
  pos_ = 0;
}

Status HttpConnection::Connect() {
  Close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(port_);
  int rc = ::getaddrinfo(host_.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::Unavailable("resolve " + host_ + ": " + gai_strerror(rc));
  Status last = Status::Unavailable("connect " + host_ + ":" + port + ": no address");
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
      ::freeaddrinfo(res);
      return Status::Ok();
    }
    last = Status::Unavailable("connect " + host_ + ":" + port + ": " + std::strerror(errno));
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return last;
}

Status HttpConnection::SendAll(std::string_view head, std::string_view body) {
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()}, {const_cast<char*>(body.data()), body.size()}};
  int first = 0;
  const int count = 2;
  while (first < count) {
    msghdr msg{};
    msg.msg_iov = iov + first;
    msg.msg_iovlen = static_cast<size_t>(count - first);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(std::string("send: ") + std::strerror(errno));
    }
    auto left = static_cast<size_t>(n);
    while (first < count && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (first < count) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return Status::Ok();
}

Status HttpConnection::Fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  char tmp[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Unavailable(std::string("recv: ") + std::strerror(errno));
    if (n == 0) return Status::Unavailable("connection closed by server");
    buf_.append(tmp, static_cast<size_t>(n));
    return Status::Ok();
  }
}

Result<HttpResult> HttpConnection::ReadResponse() {
  HttpResult out;
  size_t header_end;
  while ((header_end = buf_.find("\r\n\r\n", pos_)) == std::string::npos) RETURN_IF_ERROR(Fill());
  std::string_view head(buf_.data() + pos_, header_end - pos_);
  // "HTTP/1.1 200 OK"
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
    return Status::Corruption("bad HTTP status line");
  }
  std::from_chars(head.data() + 9, head.data() + 12, out.status);
  size_t line_start = head.find("\r\n");
  while (line_start != std::string_view::npos && line_start < head.size()) {
    size_t next = head.find("\r\n", line_start + 2);
    std::string_view line = head.substr(line_start + 2, (next == std::string_view::npos ? head.size() : next) - line_start - 2);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      out.headers[Lower(line.substr(0, colon))] = std::string(value);
    }
    line_start = next;
  }
  pos_ = header_end + 4;
  auto te = out.headers.find("transfer-encoding");
  if (te != out.headers.end() && Lower(te->second).find("chunked") != std::string::npos) {
    for (;;) {
      size_t eol;
      while ((eol = buf_.find("\r\n", pos_)) == std::string::npos) RETURN_IF_ERROR(Fill());
      size_t chunk = std::stoul(buf_.substr(pos_, eol - pos_), nullptr, 16);
      pos_ = eol + 2;
      while (buf_.size() - pos_ < chunk + 2) RETURN_IF_ERROR(Fill());
      out.body.append(buf_, pos_, chunk);
      pos_ += chunk + 2;
      if (chunk == 0) break;
    }
  } else {
    size_t length = 0;
    auto cl = out.headers.find("content-length");
    if (cl != out.headers.end()) length = std::stoul(cl->second);
    while (buf_.size() - pos_ < length) RETURN_IF_ERROR(Fill());
    out.body.assign(buf_, pos_, length);
    pos_ += length;
  }
  auto conn = out.headers.find("connection");
  if (conn != out.headers.end() && Lower(conn->second) == "close") Close();
  return out;
}

Result<HttpResult> HttpConnection::Request(
    std::string_view method, std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req;
  req.reserve(256);  // the head only: the body is sent from where it lies
  req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host_);
  req.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
  for (const auto& [k, v] : headers) req.append(k).append(": ").append(v).append("\r\n");
  req.append("\r\n");
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = fd_ >= 0;
    if (!reused) RETURN_IF_ERROR(Connect());
    Status st = SendAll(req, body);
    if (st.ok()) {
      auto r = ReadResponse();
      if (r.ok()) return r;
      st = r.status();
    }
    Close();
    if (!reused) return st;  // a fresh connection failed: report it
  }
  return Status::Unavailable("request failed after reconnect");
}

}  // namespace tidemark::cli
