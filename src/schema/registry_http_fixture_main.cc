// Test-only: serves the registry's REST handlers over HTTP on 127.0.0.1 (an in-memory log;
// prints "listening <port>") so tests/schema/registry_client_check.mjs can drive them with
// a real Confluent client. Two extra test routes cross the wire format with that client:
//   POST /_test/encode/{subject}  event JSON → hex of tidemark's framed value (latest version)
//   POST /_test/decode            hex of a framed value → tidemark's ConsumerDecoder JSON
// Exits when its standard input closes, so it never outlives the script that started it.
#include <unistd.h>

#include <cstdio>
#include <thread>
#include <utility>  // before Boost 1.74 asio, which uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "schema/registry_http.h"
#include "schema/testing_log_internal.h"
#include "schema/wire_format.h"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace tidemark;

namespace {

gateway::HttpResponse Text(int status, std::string body) {
  gateway::HttpResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

gateway::HttpResponse TestRoute(schema::Registry& registry, schema::ConsumerDecoder& consumer,
                                const gateway::HttpRequest& req) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (req.path == "/_test/decode") {
    std::string bytes;
    for (size_t i = 0; i + 1 < req.body.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(req.body.substr(i, 2), nullptr, 16)));
    }
    std::string out;
    Status s = consumer.DecodeToJson(bytes, &out);
    return s.ok() ? Text(200, out) : Text(400, s.ToString());
  }
  std::string subject = req.path.substr(std::string_view("/_test/encode/").size());
  auto latest = registry.GetVersion(subject, schema::kLatestVersion);
  if (!latest.ok()) return Text(404, latest.status().ToString());
  simdjson::dom::parser parser;
  simdjson::dom::element event;
  if (parser.parse(req.body).get(event) != simdjson::SUCCESS) return Text(400, "invalid JSON");
  std::string framed;
  schema::EncodeOptions options;
  options.pii_hash_secret = "fixture-secret";
  Status s = schema::EncodeFramed(latest->id, *latest->schema, event, options, &framed);
  if (!s.ok()) return Text(400, s.ToString());
  std::string hex;
  for (unsigned char c : framed) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return Text(200, hex);
}

void Serve(tcp::socket socket, schema::Registry& registry, schema::ConsumerDecoder& consumer,
           const gateway::RouteHandler& handler) {
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  while (true) {
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    gateway::HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    size_t q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) {
      std::string_view rest = std::string_view(r.target).substr(q + 1);
      while (!rest.empty()) {
        size_t amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        size_t eq = pair.find('=');
        r.query.emplace(std::string(pair.substr(0, eq)),
                        eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      }
    }
    for (auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(field.value());
    }
    r.body = req.body();
    gateway::HttpResponse resp = r.path.rfind("/_test/", 0) == 0 ? TestRoute(registry, consumer, r) : handler(r);
    http::response<http::string_body> res{static_cast<http::status>(resp.status), req.version()};
    res.set(http::field::content_type, resp.content_type);
    res.body() = resp.body;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    http::write(socket, res, ec);
    if (ec || !res.keep_alive()) return;
  }
}

}  // namespace

int main() {
  schema::testing::InMemoryLog log;
  auto registry = schema::Registry::Open(log).value();
  schema::ConsumerDecoder consumer(*registry);
  gateway::RouteHandler handler = schema::RegistryDispatcher(*registry);
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  std::printf("listening %d\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  std::thread([] {
    char buf[256];
    while (read(0, buf, sizeof buf) > 0) {
    }
    _exit(0);
  }).detach();
  while (true) {
    tcp::socket socket(ioc);
    boost::system::error_code ec;
    acceptor.accept(socket, ec);
    if (ec) continue;
    std::thread(Serve, std::move(socket), std::ref(*registry), std::ref(consumer), std::cref(handler)).detach();
  }
}
