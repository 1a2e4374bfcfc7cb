// The gateway: tidemark's HTTP front door. It authenticates write keys, rate-limits per key,
// parses and checks batches, appends accepted events to user-events/server-events and
// rejected ones to dlq-events, and answers 2xx only once all of that is durable in the log.
// Other stages (queries, reports) add their routes to the same server.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "gateway/event_encoder.h"
#include "gateway/key_store.h"
#include "log/log.h"

namespace tidemark::gateway {

struct HttpRequest {
  std::string method;   // "GET"
  std::string target;   // "/v1/query?metric=events"
  std::string path;     // "/v1/query"
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::map<std::string, std::string> headers;     // lower-case names
  std::string body;     // decoded (decompressed) body
  const KeyInfo* key = nullptr;  // the authenticated key, for routes that require a scope
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

// A route's handler; runs on an I/O thread and must not block for long.
using RouteHandler = std::function<HttpResponse(const HttpRequest&)>;

// A prefix route's scope, decided per request from method and path: "" (public), "read",
// "write" or "admin". Runs on an I/O thread before the key is checked.
using ScopeFn = std::function<std::string(std::string_view method, std::string_view path)>;

struct GatewayDeps {
  const Config* config = nullptr;      // gateway.* and server.listen
  log::Log* log = nullptr;             // where events go
  KeyStore* keys = nullptr;
  MetricsRegistry* metrics = nullptr;
  const Clock* clock = nullptr;
  // Encodes accepted events for the log (the registry's Avro encoder in `serve`); null keeps
  // canonical JSON values. Must outlive the gateway.
  EventEncoder* encoder = nullptr;
};

// What one listener serves; the defaults are the main listener's. A process may run more
// than one gateway on different ports (tidemark serve runs the schema registry on its own).
struct GatewayOptions {
  // false: POST /v1/batch is not served (404), for listeners that only carry routes.
  bool serve_batch = true;
  // I/O threads; 0 takes gateway.io_threads.
  int io_threads = 0;
  // Names the listener in log lines and its threads ("tm-<name>-io").
  std::string name = "gateway";
};

// Owns its listener and I/O threads. Start() returns once the port is bound; Stop() stops
// accepting, waits for in-flight requests to be answered and joins the threads.
// Thread-safe for Stop/SetReady/AddRoute/AddPrefixRoute (routes should be added before
// traffic arrives).
class Gateway {
 public:
  virtual ~Gateway() = default;
  // The port actually bound (listen on port 0 to let the kernel pick).
  virtual uint16_t port() const = 0;
  // /readyz answers 503 until ready.
  virtual void SetReady(bool ready) = 0;
  // Adds "METHOD path" (exact path match); scope is "" (public), "read", "write" or "admin".
  virtual void AddRoute(const std::string& method, const std::string& path,
                        const std::string& scope, RouteHandler handler) = 0;
  // Adds a route for `prefix` ("/subjects", no trailing slash) and every path below it
  // ("/subjects/a/versions"), any method. `scope` names the scope each request needs and the
  // key is checked (401, 403) before `handler` runs; the handler answers unknown paths and
  // methods below the prefix itself. Exact routes win over prefixes, longer prefixes over
  // shorter ones.
  virtual void AddPrefixRoute(const std::string& prefix, ScopeFn scope, RouteHandler handler) = 0;
  virtual void Stop() = 0;
};

// Binds `listen` ("HOST:PORT") and starts serving. Routes that need a scope take the key as
// "Authorization: Bearer <key>" or as the user name of HTTP Basic credentials
// (base64 "<key>:<anything>"), which is what Confluent registry clients send.
Result<std::unique_ptr<Gateway>> StartGateway(const std::string& listen, const GatewayDeps& deps,
                                              const GatewayOptions& options = {});

}  // namespace tidemark::gateway
