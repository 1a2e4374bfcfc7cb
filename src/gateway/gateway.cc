// The gateway's HTTP server: Boost.Beast HTTP/1.1 over Asio, one strand per connection,
// keep-alive, bounded request bodies and bounded in-flight bytes. POST /v1/batch parses on
// the I/O thread (batch_handler.cc), appends to the log without blocking and answers from
// the last append's callback, posted back to the connection's strand.
#include "gateway/gateway.h"

#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "event/json_writer.h"
#include "gateway/batch_handler_internal.h"
#include "gateway/http_codec_internal.h"
#include "gateway/rate_limiter_internal.h"

namespace tidemark::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::string_view kBatchPath = "/v1/batch";
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// A connection keeps its body buffer between requests up to this capacity, so that bulk
// clients reuse one allocation while many idle connections hold little memory.
constexpr size_t kKeptBodyCapacity = 1 << 20;

std::string ErrorJson(std::string_view error, std::string_view message) {
  std::string out = "{\"error\":";
  event::AppendJsonString(&out, error);
  out += ",\"message\":";
  event::AppendJsonString(&out, message);
  out += "}";
  return out;
}

HttpResponse ErrorResponse(int status, std::string_view error, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = ErrorJson(error, message);
  return r;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() &&
               HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void ParseQuery(std::string_view q, std::multimap<std::string, std::string>* out) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out->emplace(PercentDecode(part), "");
    } else {
      out->emplace(PercentDecode(part.substr(0, eq)), PercentDecode(part.substr(eq + 1)));
    }
  }
}

std::string_view Sv(beast::string_view s) { return std::string_view(s.data(), s.size()); }

// "<scheme> <credentials>" -> credentials, trimmed; empty when the scheme differs.
std::string_view SchemeCredentials(std::string_view header, std::string_view scheme) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ') return {};
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return {};
  }
  std::string_view token = header.substr(scheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

// The key an Authorization header presents: "Bearer <key>", or HTTP Basic credentials
// whose user name is the key (base64 of "<key>:<anything>"; registry clients and
// Segment-style SDKs send keys that way). A Basic key is decoded into *decoded, which the
// answer points into. Empty when absent, another scheme or undecodable. The key is never
// logged; comparing it is the key store's (constant-time) business.
std::string_view PresentedKey(std::string_view header, std::string* decoded) {
  if (std::string_view bearer = SchemeCredentials(header, "bearer"); !bearer.empty()) return bearer;
  std::string_view basic = SchemeCredentials(header, "basic");
  // Base64 comes in 4-character groups; 4 KiB of credentials is plenty.
  if (basic.empty() || basic.size() % 4 != 0 || basic.size() > 4096) return {};
  decoded->resize(basic.size() / 4 * 3);
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded->data()),
                          reinterpret_cast<const unsigned char*>(basic.data()), static_cast<int>(basic.size()));
  if (n < 0) return {};
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = basic.ends_with("==") ? 2 : basic.ends_with('=') ? 1 : 0;
  decoded->resize(static_cast<size_t>(n) - padding);
  std::string_view credentials = *decoded;
  return credentials.substr(0, credentials.find(':'));
}

struct Route {
  std::string scope;
  RouteHandler handler;
};

struct PrefixRoute {
  std::string prefix;
  ScopeFn scope;
  RouteHandler handler;
};

// `path` is `prefix` or lies below it ("/subjects/x", not "/subjectsx").
bool UnderPrefix(std::string_view path, std::string_view prefix) {
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

class GatewayServer;

// One client connection. Lives as long as an async operation or a pending batch holds a
// shared_ptr to it; all its members are touched only on its strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, GatewayServer* server);
  ~Connection();
  void Start();
  // Posted by Stop(): closes the connection when it is waiting for a request.
  void CloseIfIdle();

 private:
  void DoReadHeader();
  void OnReadHeader(beast::error_code ec);
  void DoReadBody();
  // Reads a Content-Length body straight into body_ with large reads and one deadline.
  void ReadSizedBody(size_t length);
  void OnReadBody(beast::error_code ec);
  void Handle();
  void HandleBatch(http::request<http::string_body>& req);
  void HandleRoute(http::request<http::string_body>& req, std::string_view path, const Route& route);
  // The route's key check: nullopt when the request may go on (with *key set for a scoped
  // route), else the 401/403 answer.
  std::optional<HttpResponse> CheckKey(http::request<http::string_body>& req, const std::string& scope,
                                       std::optional<KeyInfo>* key);
  void FinishBatch(internal::BatchPlan& plan, int worst, const std::string& error_message);
  void Send(HttpResponse response);
  void OnWrite(bool keep_alive, beast::error_code ec);
  void Close();
  void ReleaseReservation();
  void ObserveRequest(int status, double seconds);
  Counter& AcceptedCounter(const std::string& source);

  beast::tcp_stream stream_;
  GatewayServer* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> continue_;
  std::string response_;  // the serialised answer being written
  std::string client_ip_;
  std::string path_label_;
  bool reading_ = false;
  bool request_keep_alive_ = true;
  unsigned request_version_ = 11;
  int64_t reserved_bytes_ = 0;
  std::chrono::steady_clock::time_point started_;
  // A sized request body, read outside the parser (see ReadSizedBody). Its capacity is kept
  // across keep-alive requests up to kKeptBodyCapacity.
  std::string body_;
  bool body_read_directly_ = false;
  // The one deadline of a direct body read or an answer's write (header reads use the
  // stream's own timer).
  net::steady_timer deadline_;
  // Metric handles of the last request's labels: a connection usually repeats them.
  std::string observed_label_;
  int observed_status_ = 0;
  Counter* observed_requests_ = nullptr;
  Histogram* observed_duration_ = nullptr;
  std::string accepted_source_;
  Counter* accepted_ = nullptr;
};

class GatewayServer final : public Gateway {
 public:
  GatewayServer(const GatewayDeps& deps, const GatewayOptions& options)
      : deps_(deps),
        options_(options),
        config_(*deps.config),
        clock_(deps.clock ? deps.clock : &SystemClock::Instance()),
        limits_(internal::BatchLimits::FromConfig(config_)),
        max_request_bytes_(static_cast<size_t>(config_.GetInt("gateway.max_request_bytes"))),
        max_inflight_bytes_(config_.GetInt("gateway.max_inflight_bytes")),
        keepalive_ms_(config_.GetInt("gateway.keepalive_timeout_ms")),
        retry_after_s_(std::max<int64_t>(1, config_.GetInt("gateway.retry_after_seconds"))),
        limiter_(config_.GetDouble("gateway.rate_limit_events_per_second"),
                 config_.GetDouble("gateway.rate_limit_burst")),
        acceptor_(net::make_strand(ioc_)),
        work_(net::make_work_guard(ioc_)) {
    MetricsRegistry& m = *deps.metrics;
    inflight_gauge_ = &m.GetGauge("tidemark_gateway_inflight_bytes",
                                  "request bytes being processed by the gateway");
    request_bytes_ = &m.GetCounter("tidemark_http_request_bytes_total",
                                   "HTTP request body bytes received (before decoding)");
    for (int r = 0; r < event::kReasonCount; ++r) {
      rejected_[r] = &m.GetCounter("tidemark_events_rejected_total",
                                   "events rejected by the gateway, by reason",
                                   {{"reason", std::string(event::ReasonCode(static_cast<event::Reason>(r)))}});
    }
  }

  ~GatewayServer() override { Stop(); }

  Status Listen(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return Status::InvalidArgument("listen address '" + listen + "' is not HOST:PORT");
    }
    std::string host = listen.substr(0, colon);
    std::string port_text = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty() || host == "localhost") host = host.empty() ? "0.0.0.0" : "127.0.0.1";
    int port = 0;
    try {
      port = std::stoi(port_text);
    } catch (...) {
      port = -1;
    }
    if (port < 0 || port > 65535) {
      return Status::InvalidArgument("listen address '" + listen + "': bad port '" + port_text + "'");
    }
    beast::error_code ec;
    auto address = net::ip::make_address(host, ec);
    if (ec) return Status::InvalidArgument("listen address '" + listen + "': " + ec.message());
    tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("cannot listen on " + listen + ": " + ec.message());
    port_ = acceptor_.local_endpoint(ec).port();
    DoAccept();
    int64_t threads = options_.io_threads > 0 ? options_.io_threads : config_.GetInt("gateway.io_threads");
    if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
    // Linux thread names hold 15 characters.
    const std::string thread_name = ("tm-" + options_.name + "-io").substr(0, 15);
    for (int64_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this, thread_name] {
        // Named so that per-thread CPU (top -H, perf) tells the gateway from other stages.
        pthread_setname_np(pthread_self(), thread_name.c_str());
        for (;;) {
          try {
            ioc_.run();
            return;
          } catch (const std::exception& e) {
            spdlog::error("{} I/O thread: unexpected exception: {}", options_.name, e.what());
          }
        }
      });
    }
    spdlog::info("{} listening on {}:{} with {} I/O threads", options_.name, host, port_, threads);
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }
  void SetReady(bool ready) override { ready_.store(ready); }

  void AddRoute(const std::string& method, const std::string& path, const std::string& scope,
                RouteHandler handler) override {
    std::unique_lock lock(routes_mu_);
    routes_[path][method] = Route{scope, std::move(handler)};
  }

  void AddPrefixRoute(const std::string& prefix, ScopeFn scope, RouteHandler handler) override {
    std::unique_lock lock(routes_mu_);
    prefix_routes_.push_back(PrefixRoute{prefix, std::move(scope), std::move(handler)});
    // Longest first, so the first match is the most specific.
    std::stable_sort(prefix_routes_.begin(), prefix_routes_.end(),
                     [](const PrefixRoute& a, const PrefixRoute& b) { return a.prefix.size() > b.prefix.size(); });
  }

  void Stop() override {
    std::lock_guard<std::mutex> stop_lock(stop_mu_);
    if (stopped_) return;
    stopping_.store(true);
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard<std::mutex> lock(conns_mu_);
      for (auto& [ptr, weak] : conns_) {
        if (auto conn = weak.lock()) live.push_back(std::move(conn));
      }
    }
    // Outside the lock: dropping the last reference runs ~Connection, which unregisters.
    for (auto& conn : live) conn->CloseIfIdle();
    live.clear();
    {
      // In-flight requests finish (their appends complete and they are answered), then
      // their connections close.
      std::unique_lock<std::mutex> lock(conns_mu_);
      conns_cv_.wait(lock, [this] { return conns_.empty(); });
    }
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    stopped_ = true;
  }

  // --- for Connection ---
  bool stopping() const { return stopping_.load(); }
  bool ready() const { return ready_.load(); }
  const GatewayDeps& deps() const { return deps_; }
  const GatewayOptions& options() const { return options_; }
  const Clock& clock() const { return *clock_; }
  const internal::BatchLimits& limits() const { return limits_; }
  size_t max_request_bytes() const { return max_request_bytes_; }
  std::chrono::milliseconds keepalive() const { return std::chrono::milliseconds(keepalive_ms_); }
  int64_t retry_after_s() const { return retry_after_s_; }
  internal::EventRateLimiter& limiter() { return limiter_; }
  Counter& rejected(size_t reason) { return *rejected_[reason]; }
  Counter& request_bytes() { return *request_bytes_; }

  bool ReserveInflight(int64_t bytes) {
    int64_t now = inflight_.fetch_add(bytes) + bytes;
    if (now > max_inflight_bytes_) {
      inflight_.fetch_sub(bytes);
      return false;
    }
    inflight_gauge_->Set(now);
    return true;
  }
  void ReleaseInflight(int64_t bytes) { inflight_gauge_->Set(inflight_.fetch_sub(bytes) - bytes); }

  std::optional<Route> FindRoute(std::string_view method, std::string_view path, bool* path_known) {
    std::shared_lock lock(routes_mu_);
    auto it = routes_.find(std::string(path));
    *path_known = it != routes_.end();
    if (!*path_known) return std::nullopt;
    auto m = it->second.find(std::string(method));
    if (m == it->second.end()) return std::nullopt;
    return m->second;
  }

  // The longest prefix route over `path`, with its scope for this request; *prefix names
  // the route (the metrics' path label: full paths would carry subject names).
  std::optional<Route> FindPrefixRoute(std::string_view method, std::string_view path, std::string* prefix) {
    std::shared_lock lock(routes_mu_);
    for (const PrefixRoute& r : prefix_routes_) {
      if (!UnderPrefix(path, r.prefix)) continue;
      *prefix = r.prefix;
      return Route{r.scope(method, path), r.handler};
    }
    return std::nullopt;
  }

  std::string AllowedMethods(std::string_view path) {
    std::shared_lock lock(routes_mu_);
    std::string out;
    auto it = routes_.find(std::string(path));
    if (it == routes_.end()) return out;
    for (const auto& [method, route] : it->second) out += (out.empty() ? "" : ", ") + method;
    return out;
  }

  void Register(Connection* c, const std::shared_ptr<Connection>& shared) {
    std::lock_guard<std::mutex> lock(conns_mu_);
    conns_[c] = shared;
  }
  void Unregister(Connection* c) {
    std::lock_guard<std::mutex> lock(conns_mu_);
    conns_.erase(c);
    if (conns_.empty()) conns_cv_.notify_all();
  }

  Counter& RequestsCounter(const std::string& path_label, int status) {
    return deps_.metrics->GetCounter("tidemark_http_requests_total", "HTTP requests answered, by path and status",
                                     {{"path", path_label}, {"status", std::to_string(status)}});
  }
  Histogram& DurationHistogram(const std::string& path_label) {
    return deps_.metrics->GetHistogram("tidemark_http_request_duration_seconds",
                                       "time from a request's arrival to its answer", LatencyBuckets(),
                                       {{"path", path_label}});
  }
  Counter& AcceptedCounter(const std::string& source) {
    return deps_.metrics->GetCounter("tidemark_events_accepted_total", "events accepted by the gateway, by source",
                                     {{"source", source}});
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec && !stopping()) {
        auto conn = std::make_shared<Connection>(std::move(socket), this);
        Register(conn.get(), conn);
        conn->Start();
      } else if (ec) {
        spdlog::warn("gateway accept: {}", ec.message());
      }
      if (!stopping()) DoAccept();
    });
  }

  GatewayDeps deps_;
  GatewayOptions options_;
  const Config& config_;
  const Clock* clock_;
  internal::BatchLimits limits_;
  size_t max_request_bytes_;
  int64_t max_inflight_bytes_;
  int64_t keepalive_ms_;
  int64_t retry_after_s_;
  internal::EventRateLimiter limiter_;

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;

  std::shared_mutex routes_mu_;
  std::map<std::string, std::map<std::string, Route>> routes_;
  std::vector<PrefixRoute> prefix_routes_;  // longest prefix first

  std::mutex conns_mu_;
  std::condition_variable conns_cv_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> conns_;

  std::atomic<int64_t> inflight_{0};
  Gauge* inflight_gauge_ = nullptr;
  Counter* request_bytes_ = nullptr;
  std::array<Counter*, event::kReasonCount> rejected_{};
};

// ---------------------------------------------------------------------------------------

Connection::Connection(tcp::socket socket, GatewayServer* server)
    : stream_(std::move(socket)), server_(server), deadline_(stream_.get_executor()) {
  beast::error_code ec;
  auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec) client_ip_ = remote.address().to_string();
}

Connection::~Connection() {
  if (reserved_bytes_ > 0) server_->ReleaseInflight(reserved_bytes_);
  server_->Unregister(this);
}

void Connection::Start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoReadHeader(); });
}

void Connection::CloseIfIdle() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->reading_) self->Close();
  });
}

void Connection::Close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

void Connection::DoReadHeader() {
  if (server_->stopping()) return Close();
  parser_.emplace();
  parser_->body_limit(server_->max_request_bytes());
  parser_->header_limit(64 * 1024);
  reading_ = true;
  stream_.expires_after(server_->keepalive());
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            self->OnReadHeader(ec);
                          });
}

void Connection::OnReadHeader(beast::error_code ec) {
  started_ = std::chrono::steady_clock::now();
  if (ec) {
    reading_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      return Close();
    }
    path_label_ = "other";
    request_keep_alive_ = false;
    if (ec == http::error::body_limit) {
      return Send(ErrorResponse(413, "payload_too_large",
                                "request body exceeds " + std::to_string(server_->max_request_bytes()) + " bytes"));
    }
    if (ec == http::error::header_limit) {
      return Send(ErrorResponse(431, "headers_too_large", "request headers are too large"));
    }
    return Send(ErrorResponse(400, "bad_request", "malformed HTTP request: " + ec.message()));
  }
  auto& req = parser_->get();
  auto expect = req[http::field::expect];
  if (!expect.empty() && beast::iequals(expect, "100-continue")) {
    continue_ = http::response<http::empty_body>(http::status::continue_, req.version());
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, continue_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->DoReadBody();
    });
    return;
  }
  DoReadBody();
}

void Connection::DoReadBody() {
  body_read_directly_ = false;
  if (parser_->is_done()) return OnReadBody({});
  // A Content-Length body (every SDK and loadgen send one) skips the parser's body path,
  // which reads at most 64 KiB per call, copies each piece and re-arms the stream's timer
  // per read. Chunked bodies still go through the parser.
  if (auto length = parser_->content_length(); length && !parser_->chunked()) {
    return ReadSizedBody(static_cast<size_t>(*length));
  }
  stream_.expires_after(server_->keepalive());
  http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
    self->OnReadBody(ec);
  });
}

void Connection::ReadSizedBody(size_t length) {
  // The parser refused a Content-Length above body_limit at the header already.
  body_read_directly_ = true;
  // Room past the end lets the JSON parser work in place (internal::kBodyPadding).
  body_.reserve(length + internal::kBodyPadding);
  body_.resize(length);
  const size_t buffered = std::min(buffer_.size(), length);
  if (buffered > 0) {
    net::buffer_copy(net::buffer(body_.data(), buffered), buffer_.data());
    buffer_.consume(buffered);
  }
  if (buffered == length) return OnReadBody({});
  stream_.expires_never();
  deadline_.expires_after(server_->keepalive());
  deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
    // A deadline re-armed after this wait fired (the operation finished just in time) is
    // not this wait's business.
    if (ec != net::error::operation_aborted &&
        self->deadline_.expiry() <= net::steady_timer::clock_type::now()) {
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    }
  });
  net::async_read(stream_.socket(), net::buffer(body_.data() + buffered, length - buffered),
                  [self = shared_from_this()](beast::error_code ec, size_t) {
                    self->deadline_.cancel();
                    // A cancelled read is the deadline's doing.
                    if (ec == net::error::operation_aborted) ec = beast::error::timeout;
                    self->OnReadBody(ec);
                  });
}

void Connection::OnReadBody(beast::error_code ec) {
  reading_ = false;
  stream_.expires_never();
  if (ec) {
    if (ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof || ec == http::error::end_of_stream) {
      return Close();
    }
    path_label_ = "other";
    request_keep_alive_ = false;
    if (ec == http::error::body_limit) {
      return Send(ErrorResponse(413, "payload_too_large",
                                "request body exceeds " + std::to_string(server_->max_request_bytes()) + " bytes"));
    }
    return Send(ErrorResponse(400, "bad_request", "malformed HTTP request: " + ec.message()));
  }
  Handle();
}

void Connection::Handle() {
  auto& req = parser_->get();
  if (body_read_directly_) req.body().swap(body_);
  request_keep_alive_ = req.keep_alive();
  request_version_ = req.version();
  server_->request_bytes().Inc(req.body().size());
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view method(req.method_string().data(), req.method_string().size());

  if (path == kBatchPath && server_->options().serve_batch) {
    path_label_ = std::string(kBatchPath);
    if (req.method() != http::verb::post) {
      HttpResponse r = ErrorResponse(405, "method_not_allowed", "use POST for /v1/batch");
      r.headers["Allow"] = "POST";
      return Send(std::move(r));
    }
    try {
      return HandleBatch(req);
    } catch (const std::exception& e) {
      return Send(ErrorResponse(500, "internal", std::string("unexpected error: ") + e.what()));
    }
  }
  if (req.method() == http::verb::get) {
    if (path == "/healthz") {
      path_label_ = "/healthz";
      HttpResponse r;
      r.body = "{\"status\":\"ok\"}";
      return Send(std::move(r));
    }
    if (path == "/readyz") {
      path_label_ = "/readyz";
      if (!server_->ready()) return Send(ErrorResponse(503, "not_ready", "recovery or replay is still running"));
      HttpResponse r;
      r.body = "{\"status\":\"ready\"}";
      return Send(std::move(r));
    }
    if (path == "/metrics") {
      path_label_ = "/metrics";
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = server_->deps().metrics->RenderPrometheus();
      return Send(std::move(r));
    }
  }
  bool path_known = false;
  std::optional<Route> route = server_->FindRoute(method, path, &path_known);
  if (route) {
    path_label_ = std::string(path);
    return HandleRoute(req, path, *route);
  }
  std::string prefix;
  route = server_->FindPrefixRoute(method, path, &prefix);
  if (route) {
    path_label_ = std::move(prefix);
    return HandleRoute(req, path, *route);
  }
  path_label_ = "other";
  if (path_known) {
    HttpResponse r = ErrorResponse(405, "method_not_allowed",
                                   std::string(method) + " is not allowed on " + std::string(path));
    r.headers["Allow"] = server_->AllowedMethods(path);
    return Send(std::move(r));
  }
  return Send(ErrorResponse(404, "not_found", "no such endpoint: " + std::string(path)));
}

void Connection::HandleRoute(http::request<http::string_body>& req, std::string_view path,
                             const Route& route) {
  HttpRequest in;
  in.method = std::string(req.method_string());
  in.target = std::string(req.target());
  in.path = std::string(path);
  size_t q = in.target.find('?');
  if (q != std::string::npos) ParseQuery(std::string_view(in.target).substr(q + 1), &in.query);
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    in.headers[name] = std::string(field.value());
  }
  std::optional<KeyInfo> key;
  if (auto refused = CheckKey(req, route.scope, &key)) return Send(std::move(*refused));
  if (key) in.key = &*key;
  internal::DecodeOutcome decoded =
      internal::DecodeBody(Sv(req[http::field::content_encoding]), std::move(req.body()),
                           server_->max_request_bytes(), &in.body);
  if (decoded.http_status != 200) {
    const char* code = decoded.http_status == 413   ? "payload_too_large"
                       : decoded.http_status == 415 ? "unsupported_media_type"
                                                    : "bad_request";
    return Send(ErrorResponse(decoded.http_status, code, decoded.message));
  }
  HttpResponse response;
  try {
    response = route.handler(in);
  } catch (const std::exception& e) {
    response = ErrorResponse(500, "internal", std::string("handler failed: ") + e.what());
  } catch (...) {
    response = ErrorResponse(500, "internal", "handler failed");
  }
  Send(std::move(response));
}

std::optional<HttpResponse> Connection::CheckKey(http::request<http::string_body>& req, const std::string& scope,
                                                 std::optional<KeyInfo>* key) {
  if (scope.empty()) return std::nullopt;
  std::string decoded;
  std::string_view presented = PresentedKey(Sv(req[http::field::authorization]), &decoded);
  if (presented.empty()) {
    return ErrorResponse(401, "unauthorized",
                         "missing Authorization: Bearer <key> (or Basic with the key as user name)");
  }
  *key = server_->deps().keys->Authenticate(presented);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  if (!*key) return ErrorResponse(401, "unauthorized", "unknown or revoked key");
  // admin keys may also read.
  if ((*key)->HasScope(scope) || (scope == "read" && (*key)->HasScope("admin"))) return std::nullopt;
  return ErrorResponse(403, "forbidden", "this key lacks the '" + scope + "' scope");
}

void Connection::HandleBatch(http::request<http::string_body>& req) {
  const GatewayDeps& deps = server_->deps();
  std::optional<KeyInfo> key;
  if (auto refused = CheckKey(req, "write", &key)) return Send(std::move(*refused));
  if (deps.log == nullptr) return Send(ErrorResponse(503, "unavailable", "no log is attached to this gateway"));

  int64_t raw_bytes = static_cast<int64_t>(req.body().size());
  auto overloaded = [&] {
    HttpResponse r = ErrorResponse(503, "overloaded", "the gateway holds too many request bytes; retry later");
    r.headers["Retry-After"] = std::to_string(server_->retry_after_s());
    return r;
  };
  if (!server_->ReserveInflight(raw_bytes)) return Send(overloaded());
  reserved_bytes_ = raw_bytes;

  int64_t now = server_->clock().NowMillis();
  if (int64_t wait = server_->limiter().WaitForAny(key->id, now); wait > 0) {
    HttpResponse r = ErrorResponse(429, "rate_limited", "this key's event rate limit is exhausted");
    r.headers["Retry-After"] = std::to_string(wait);
    return Send(std::move(r));
  }

  // An identity body is planned where it was read; others are decoded into `decoded_body`.
  std::string decoded_body;
  std::string_view body = req.body();
  std::string_view content_encoding = Sv(req[http::field::content_encoding]);
  if (!content_encoding.empty()) {
    internal::DecodeOutcome decoded = internal::DecodeBody(content_encoding, std::move(req.body()),
                                                           server_->max_request_bytes(), &decoded_body);
    if (decoded.http_status != 200) {
      const char* code = decoded.http_status == 413   ? "payload_too_large"
                         : decoded.http_status == 415 ? "unsupported_media_type"
                                                      : "bad_request";
      return Send(ErrorResponse(decoded.http_status, code, decoded.message));
    }
    body = decoded_body;
  } else if (body.size() > server_->max_request_bytes()) {
    return Send(ErrorResponse(413, "payload_too_large",
                              "decoded body exceeds " + std::to_string(server_->max_request_bytes()) + " bytes"));
  }
  if (!decoded_body.empty() && static_cast<int64_t>(decoded_body.size()) != raw_bytes) {
    // Decoded bytes count too (records will hold as much).
    int64_t extra = static_cast<int64_t>(decoded_body.size());
    if (!server_->ReserveInflight(extra)) return Send(overloaded());
    reserved_bytes_ += extra;
  }

  internal::TopicPartitions parts;
  for (auto [topic, out] : {std::pair{log::kUserEvents, &parts.user_events},
                            std::pair{log::kServerEvents, &parts.server_events},
                            std::pair{log::kDlqEvents, &parts.dlq_events}}) {
    Result<int> n = deps.log->PartitionCount(topic);
    if (!n.ok() || *n <= 0) {
      HttpResponse r = ErrorResponse(503, "unavailable", "topic " + std::string(topic) + " is not available: " +
                                                             (n.ok() ? "no partitions" : n.status().ToString()));
      r.headers["Retry-After"] = std::to_string(server_->retry_after_s());
      return Send(std::move(r));
    }
    *out = *n;
  }

  internal::BatchInput in;
  in.body = body;
  const std::string& body_owner = content_encoding.empty() ? req.body() : decoded_body;
  in.readable_padding = body_owner.capacity() - body_owner.size();
  in.source = key->source;
  in.default_platform = key->platform;
  in.client_ip = client_ip_;
  in.received_at_ms = now;
  in.encoder = deps.encoder;
  auto plan = std::make_shared<internal::BatchPlan>();
  plan->source = key->source;
  internal::EventRateLimiter& limiter = server_->limiter();
  const std::string& key_id = key->id;
  internal::PlanBatch(in, server_->limits(), parts,
                      [&](size_t n) { return limiter.TryTake(key_id, static_cast<double>(n), now); },
                      plan.get());
  // Records hold their own copies now: free the decoded body, keep a read buffer for the
  // connection's next request.
  decoded_body = std::string();
  body = {};
  if (body_read_directly_) {
    // Not cleared: the next body's resize then zero-fills only the bytes it adds.
    req.body().swap(body_);
    if (body_.capacity() > kKeptBodyCapacity) body_ = std::string();
  }

  if (plan->status == 413) return Send(ErrorResponse(413, plan->error_code, plan->error_message));
  if (plan->status == 429) {
    HttpResponse r = ErrorResponse(429, plan->error_code, plan->error_message);
    r.headers["Retry-After"] = std::to_string(plan->retry_after_s);
    return Send(std::move(r));
  }
  if (plan->appends.empty()) return FinishBatch(*plan, 0, "");

  // Append everything; the last callback to finish answers, on this connection's strand.
  struct Pending {
    std::atomic<size_t> remaining{0};
    std::atomic<int> worst{0};  // 0 ok, 1 retryable (503), 2 other (500)
    std::mutex mu;
    std::string first_error;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = plan->appends.size();
  auto self = shared_from_this();
  for (internal::TopicAppend& a : plan->appends) {
    deps.log->Append(a.topic, a.partition, std::move(a.records),
                     [self, plan, pending, topic = a.topic, partition = a.partition](Result<int64_t> r) {
                       if (!r.ok()) {
                         StatusCode c = r.status().code();
                         int level = (c == StatusCode::kUnavailable || c == StatusCode::kResourceExhausted) ? 1 : 2;
                         int prev = pending->worst.load();
                         while (prev < level && !pending->worst.compare_exchange_weak(prev, level)) {
                         }
                         std::lock_guard<std::mutex> lock(pending->mu);
                         if (pending->first_error.empty()) {
                           pending->first_error = "append to " + std::string(topic) + "/" +
                                                  std::to_string(partition) + ": " + r.status().ToString();
                         }
                       }
                       if (pending->remaining.fetch_sub(1) == 1) {
                         net::post(self->stream_.get_executor(), [self, plan, pending] {
                           std::string message;
                           {
                             std::lock_guard<std::mutex> lock(pending->mu);
                             message = pending->first_error;
                           }
                           self->FinishBatch(*plan, pending->worst.load(), message);
                         });
                       }
                     });
  }
}

void Connection::FinishBatch(internal::BatchPlan& plan, int worst, const std::string& error_message) {
  if (worst == 1) {
    HttpResponse r = ErrorResponse(503, "unavailable", "the log could not take the batch; retry: " + error_message);
    r.headers["Retry-After"] = std::to_string(server_->retry_after_s());
    return Send(std::move(r));
  }
  if (worst == 2) return Send(ErrorResponse(500, "internal", error_message));
  if (plan.status == 400) return Send(ErrorResponse(400, plan.error_code, plan.error_message));

  // Durable: count and answer.
  if (plan.accepted > 0) {
    AcceptedCounter(plan.source).Inc(plan.accepted);
  }
  HttpResponse r;
  r.body.reserve(64 + plan.errors_json.size());
  r.body = "{\"accepted\":";
  event::AppendJsonInt(&r.body, static_cast<int64_t>(plan.accepted));
  r.body += ",\"rejected\":";
  event::AppendJsonInt(&r.body, static_cast<int64_t>(plan.rejected));
  r.body += ",\"errors\":";
  r.body += plan.errors_json;
  r.body += "}";
  for (size_t i = 0; i < plan.rejected_by_reason.size(); ++i) {
    if (plan.rejected_by_reason[i]) server_->rejected(i).Inc(plan.rejected_by_reason[i]);
  }
  Send(std::move(r));
}

void Connection::ObserveRequest(int status, double seconds) {
  if (path_label_.empty()) path_label_ = "other";
  // Registry lookups build label sets and take its lock; a connection mostly repeats the
  // same path and status, so it keeps the last handles.
  if (observed_duration_ == nullptr || observed_label_ != path_label_) {
    observed_label_ = path_label_;
    observed_duration_ = &server_->DurationHistogram(observed_label_);
    observed_requests_ = nullptr;
  }
  if (observed_requests_ == nullptr || observed_status_ != status) {
    observed_status_ = status;
    observed_requests_ = &server_->RequestsCounter(observed_label_, status);
  }
  observed_requests_->Inc();
  observed_duration_->Observe(seconds);
}

Counter& Connection::AcceptedCounter(const std::string& source) {
  if (accepted_ == nullptr || accepted_source_ != source) {
    accepted_source_ = source;
    accepted_ = &server_->AcceptedCounter(source);
  }
  return *accepted_;
}

void Connection::ReleaseReservation() {
  if (reserved_bytes_ > 0) {
    server_->ReleaseInflight(reserved_bytes_);
    reserved_bytes_ = 0;
  }
}

void Connection::Send(HttpResponse response) {
  ReleaseReservation();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  ObserveRequest(response.status, seconds);
  bool keep_alive = request_keep_alive_ && !server_->stopping();
  // Serialised by hand into one reused buffer and written with one send, under one
  // deadline: beast's serializer and the stream's per-operation timer cost more than the
  // small answers themselves.
  response_.clear();
  response_.append(request_version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  event::AppendJsonInt(&response_, response.status);
  response_.push_back(' ');
  response_.append(Sv(http::obsolete_reason(http::int_to_status(static_cast<unsigned>(response.status)))));
  response_.append("\r\nServer: tidemark\r\nContent-Type: ");
  response_.append(response.content_type);
  response_.append("\r\n");
  for (const auto& [name, value] : response.headers) {
    response_.append(name).append(": ").append(value).append("\r\n");
  }
  if (request_version_ == 10 && keep_alive) response_.append("Connection: keep-alive\r\n");
  if (request_version_ != 10 && !keep_alive) response_.append("Connection: close\r\n");
  response_.append("Content-Length: ");
  event::AppendJsonInt(&response_, static_cast<int64_t>(response.body.size()));
  response_.append("\r\n\r\n");
  response_.append(response.body);
  stream_.expires_never();
  deadline_.expires_after(kWriteTimeout);
  deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
    // A deadline re-armed after this wait fired (the operation finished just in time) is
    // not this wait's business.
    if (ec != net::error::operation_aborted &&
        self->deadline_.expiry() <= net::steady_timer::clock_type::now()) {
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    }
  });
  net::async_write(stream_.socket(), net::buffer(response_),
                   [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                     self->deadline_.cancel();
                     self->OnWrite(keep_alive, ec);
                   });
}

void Connection::OnWrite(bool keep_alive, beast::error_code ec) {
  if (response_.capacity() > kKeptBodyCapacity) response_ = std::string();
  if (ec || !keep_alive) return Close();
  DoReadHeader();
}

}  // namespace

// Each batch allocates one string per record on an I/O thread and the log frees them on its
// writer thread. With glibc's defaults the freed heap top is returned to the kernel after
// every batch and faulted back in for the next one, which halved ingest throughput in
// measurements; keeping up to 64 MiB of free heap per arena and serving request-sized
// buffers from the heap instead of fresh mmaps avoids that. Process-wide, set once; the
// server's main may take this over.
static void TuneAllocatorForIngest() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
  });
}

Result<std::unique_ptr<Gateway>> StartGateway(const std::string& listen, const GatewayDeps& deps,
                                              const GatewayOptions& options) {
  TuneAllocatorForIngest();
  if (deps.config == nullptr || deps.metrics == nullptr || deps.keys == nullptr) {
    return Status::InvalidArgument("StartGateway: config, keys and metrics are required");
  }
  auto server = std::make_unique<GatewayServer>(deps, options);
  RETURN_IF_ERROR(server->Listen(listen));
  return std::unique_ptr<Gateway>(std::move(server));
}

}  // namespace tidemark::gateway
