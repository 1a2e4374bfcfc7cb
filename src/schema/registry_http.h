// Confluent Schema Registry's REST API over tidemark's Registry, as gateway route handlers,
// so that existing registry clients (serializers, CLIs) work unchanged. Bodies are
// application/vnd.schemaregistry.v1+json; errors are {"error_code":40401,"message":"…"}
// with Confluent's codes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/gateway.h"
#include "schema/registry.h"

namespace tidemark::schema {

inline constexpr std::string_view kRegistryContentType = "application/vnd.schemaregistry.v1+json";

// One endpoint. `pattern` has {name} placeholders that match one path segment
// ("/subjects/{subject}/versions/{version}"); `scope` is what the caller's key needs
// ("read" for lookups, "admin" for changes). The handler matches the pattern itself, so it
// can be mounted on a pattern route as is.
struct RegistryRoute {
  std::string method;
  std::string pattern;
  std::string scope;
  gateway::RouteHandler handler;
};

// Every endpoint. `registry` must outlive the handlers.
std::vector<RegistryRoute> RegistryRoutes(Registry& registry);

// For a gateway with prefix routes: one handler for every registry path (mount it on
// /subjects, /schemas, /config and /compatibility), answering 404 {"error_code":404} for
// paths it does not know and 405 for a known path with another method.
gateway::RouteHandler RegistryDispatcher(Registry& registry);

// The scope a request needs ("" when the path is not the registry's), so the gateway can
// check keys before dispatching: "admin" for POST .../versions and PUT /config*, else "read".
std::string_view RegistryScope(std::string_view method, std::string_view path);

// Path prefixes the registry serves.
inline constexpr std::string_view kRegistryPathPrefixes[] = {"/subjects", "/schemas", "/config",
                                                             "/compatibility"};

}  // namespace tidemark::schema
