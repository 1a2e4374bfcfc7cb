// REST handlers of the registry: path patterns, Confluent error codes, JSON bodies.
#include "schema/registry_http.h"

#include <charconv>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tidemark::schema {

using gateway::HttpRequest;
using gateway::HttpResponse;
using nlohmann::json;

namespace {

using Params = std::map<std::string, std::string>;

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 &&
        hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end;
  }
  return out;
}

// Segment-wise match; {name} captures one percent-decoded segment.
bool MatchPattern(std::string_view pattern, std::string_view path, Params* params) {
  auto p = Segments(pattern);
  auto s = Segments(path);
  if (p.size() != s.size()) return false;
  Params captured;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i].size() > 2 && p[i].front() == '{' && p[i].back() == '}') {
      captured[std::string(p[i].substr(1, p[i].size() - 2))] = PercentDecode(s[i]);
    } else if (p[i] != s[i]) {
      return false;
    }
  }
  if (params) *params = std::move(captured);
  return true;
}

HttpResponse Json(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::string(kRegistryContentType);
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse Error(int http_status, int error_code, std::string_view message) {
  return Json(http_status, {{"error_code", error_code}, {"message", message}});
}

HttpResponse SubjectNotFound(std::string_view subject) {
  return Error(404, 40401, fmt::format("Subject '{}' not found.", subject));
}

// Store failures: 503 when the log asks to retry later, else 500.
HttpResponse StoreError(const Status& s) {
  return Error(s.code() == StatusCode::kUnavailable ? 503 : 500, 50001,
               fmt::format("Error in the backend data store: {}", s.message()));
}

// "latest", "-1" or 1..2^31-1.
std::optional<int> ParseVersion(std::string_view text) {
  if (text == "latest" || text == "-1") return kLatestVersion;
  int v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < 1) return std::nullopt;
  return v;
}

HttpResponse InvalidVersion(std::string_view text) {
  return Error(422, 42202,
               fmt::format("The specified version '{}' is not a valid version id. Allowed values are "
                           "between [1, 2^31-1] and the string \"latest\"",
                           text));
}

// {"schema":"…","schemaType":"AVRO"} → the schema text, or an error response.
std::variant<std::string, HttpResponse> SchemaFromBody(const HttpRequest& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return Error(400, 400, "request body: expected a JSON object {\"schema\": \"…\"}");
  }
  auto type = body.find("schemaType");
  if (type != body.end() && !(type->is_string() && type->get<std::string>() == "AVRO")) {
    return Error(422, 42201, fmt::format("Invalid schema: schemaType {} is not supported (only AVRO)",
                                         type->dump()));
  }
  if (body.contains("references") && body["references"].is_array() && !body["references"].empty()) {
    return Error(422, 42201, "Invalid schema: schema references are not supported");
  }
  auto schema = body.find("schema");
  if (schema == body.end() || !schema->is_string()) {
    return Error(422, 42201, "Invalid schema: request body field 'schema' must be a string");
  }
  return schema->get<std::string>();
}

json VersionBody(const SchemaVersion& v) {
  return {{"subject", v.subject}, {"version", v.version}, {"id", v.id}, {"schema", v.schema->text()}};
}

HttpResponse InvalidSchema(const Status& s) {
  return Error(422, 42201, fmt::format("Invalid schema: {}", s.message()));
}

using Handler = std::function<HttpResponse(const HttpRequest&, const Params&)>;

struct Endpoint {
  const char* method;
  const char* pattern;
  const char* scope;
  Handler handler;
};

std::vector<Endpoint> Endpoints(Registry* reg) {
  std::vector<Endpoint> e;
  e.push_back({"GET", "/subjects", "read", [reg](const HttpRequest&, const Params&) {
                 return Json(200, reg->Subjects());
               }});
  e.push_back({"GET", "/subjects/{subject}/versions", "read", [reg](const HttpRequest&, const Params& p) {
                 auto versions = reg->Versions(p.at("subject"));
                 if (!versions.ok()) return SubjectNotFound(p.at("subject"));
                 return Json(200, *versions);
               }});
  e.push_back({"POST", "/subjects/{subject}/versions", "admin", [reg](const HttpRequest& req, const Params& p) {
                 auto text = SchemaFromBody(req);
                 if (auto* err = std::get_if<HttpResponse>(&text)) return *err;
                 auto r = reg->Register(p.at("subject"), std::get<std::string>(text));
                 if (r.ok()) return Json(200, {{"id", r->id}});
                 switch (r.status().code()) {
                   case StatusCode::kInvalidArgument: return InvalidSchema(r.status());
                   case StatusCode::kFailedPrecondition: return Error(409, 409, r.status().message());
                   default: return StoreError(r.status());
                 }
               }});
  auto get_version = [reg](const Params& p, std::optional<SchemaVersion>* out) -> std::optional<HttpResponse> {
    const std::string& subject = p.at("subject");
    auto version = ParseVersion(p.at("version"));
    if (!version) return InvalidVersion(p.at("version"));
    if (!reg->HasSubject(subject)) return SubjectNotFound(subject);
    auto v = reg->GetVersion(subject, *version);
    if (!v.ok()) {
      return Error(404, 40402, fmt::format("Version {} not found.", p.at("version")));
    }
    *out = std::move(v).value();
    return std::nullopt;
  };
  e.push_back({"GET", "/subjects/{subject}/versions/{version}", "read",
               [get_version](const HttpRequest&, const Params& p) {
                 std::optional<SchemaVersion> v;
                 if (auto err = get_version(p, &v)) return *err;
                 return Json(200, VersionBody(*v));
               }});
  e.push_back({"GET", "/subjects/{subject}/versions/{version}/schema", "read",
               [get_version](const HttpRequest&, const Params& p) {
                 std::optional<SchemaVersion> v;
                 if (auto err = get_version(p, &v)) return *err;
                 HttpResponse r = Json(200, nullptr);
                 r.body = v->schema->text();
                 return r;
               }});
  e.push_back({"POST", "/subjects/{subject}", "read", [reg](const HttpRequest& req, const Params& p) {
                 const std::string& subject = p.at("subject");
                 auto text = SchemaFromBody(req);
                 if (auto* err = std::get_if<HttpResponse>(&text)) return *err;
                 if (!reg->HasSubject(subject)) return SubjectNotFound(subject);
                 auto r = reg->Lookup(subject, std::get<std::string>(text));
                 if (r.ok()) return Json(200, VersionBody(*r));
                 if (r.status().code() == StatusCode::kInvalidArgument) return InvalidSchema(r.status());
                 return Error(404, 40403, "Schema not found");
               }});
  e.push_back({"GET", "/schemas/ids/{id}", "read", [reg](const HttpRequest&, const Params& p) {
                 int id = 0;
                 const std::string& text = p.at("id");
                 auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
                 if (ec != std::errc() || ptr != text.data() + text.size()) {
                   return Error(404, 40403, fmt::format("Schema {} not found", text));
                 }
                 auto s = reg->SchemaById(id);
                 if (!s.ok()) return Error(404, 40403, fmt::format("Schema {} not found", id));
                 return Json(200, {{"schema", (*s)->text()}});
               }});
  e.push_back({"GET", "/schemas/ids/{id}/versions", "read", [reg](const HttpRequest&, const Params& p) {
                 int id = 0;
                 const std::string& text = p.at("id");
                 auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
                 if (ec != std::errc() || ptr != text.data() + text.size() || !reg->SchemaById(id).ok()) {
                   return Error(404, 40403, fmt::format("Schema {} not found", text));
                 }
                 json out = json::array();
                 for (auto& [subject, version] : reg->SubjectVersionsOfId(id)) {
                   out.push_back({{"subject", subject}, {"version", version}});
                 }
                 return Json(200, out);
               }});
  e.push_back({"GET", "/schemas/types", "read", [](const HttpRequest&, const Params&) {
                 return Json(200, json::array({"AVRO"}));
               }});
  auto compat_body = [](const CompatibilityResult& c) {
    return Json(200, {{"is_compatible", c.compatible}, {"messages", c.messages}});
  };
  e.push_back({"POST", "/compatibility/subjects/{subject}/versions/{version}", "read",
               [reg, compat_body](const HttpRequest& req, const Params& p) {
                 const std::string& subject = p.at("subject");
                 auto version = ParseVersion(p.at("version"));
                 if (!version) return InvalidVersion(p.at("version"));
                 auto text = SchemaFromBody(req);
                 if (auto* err = std::get_if<HttpResponse>(&text)) return *err;
                 if (!reg->HasSubject(subject)) return SubjectNotFound(subject);
                 if (!reg->GetVersion(subject, *version).ok()) {
                   return Error(404, 40402, fmt::format("Version {} not found.", p.at("version")));
                 }
                 auto r = reg->TestCompatibility(subject, std::get<std::string>(text), *version);
                 if (!r.ok()) return InvalidSchema(r.status());
                 return compat_body(*r);
               }});
  e.push_back({"POST", "/compatibility/subjects/{subject}/versions", "read",
               [reg, compat_body](const HttpRequest& req, const Params& p) {
                 auto text = SchemaFromBody(req);
                 if (auto* err = std::get_if<HttpResponse>(&text)) return *err;
                 auto r = reg->TestCompatibilityWithAll(p.at("subject"), std::get<std::string>(text));
                 if (!r.ok()) return InvalidSchema(r.status());
                 return compat_body(*r);
               }});
  auto parse_level = [](const HttpRequest& req, std::optional<CompatibilityMode>* mode) -> std::optional<HttpResponse> {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("compatibility") ||
        !body["compatibility"].is_string()) {
      return Error(422, 42203, "Invalid compatibility level: body must be {\"compatibility\": \"<LEVEL>\"}");
    }
    *mode = ParseCompatibilityMode(body["compatibility"].get<std::string>());
    if (!*mode) {
      return Error(422, 42203, fmt::format("Invalid compatibility level '{}'; expected one of NONE, "
                                           "BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, "
                                           "FULL, FULL_TRANSITIVE",
                                           body["compatibility"].get<std::string>()));
    }
    return std::nullopt;
  };
  e.push_back({"GET", "/config", "read", [reg](const HttpRequest&, const Params&) {
                 return Json(200, {{"compatibilityLevel", CompatibilityModeName(reg->GlobalCompatibility())}});
               }});
  e.push_back({"PUT", "/config", "admin", [reg, parse_level](const HttpRequest& req, const Params&) {
                 std::optional<CompatibilityMode> mode;
                 if (auto err = parse_level(req, &mode)) return *err;
                 if (Status s = reg->SetGlobalCompatibility(*mode); !s.ok()) return StoreError(s);
                 return Json(200, {{"compatibility", CompatibilityModeName(*mode)}});
               }});
  e.push_back({"GET", "/config/{subject}", "read", [reg](const HttpRequest& req, const Params& p) {
                 const std::string& subject = p.at("subject");
                 auto mode = reg->SubjectCompatibility(subject);
                 if (!mode) {
                   auto it = req.query.find("defaultToGlobal");
                   if (it != req.query.end() && it->second == "true") {
                     mode = reg->GlobalCompatibility();
                   } else if (!reg->HasSubject(subject)) {
                     return SubjectNotFound(subject);
                   } else {
                     return Error(404, 40408, fmt::format("Subject '{}' does not have subject-level "
                                                          "compatibility configured", subject));
                   }
                 }
                 return Json(200, {{"compatibilityLevel", CompatibilityModeName(*mode)}});
               }});
  e.push_back({"PUT", "/config/{subject}", "admin", [reg, parse_level](const HttpRequest& req, const Params& p) {
                 std::optional<CompatibilityMode> mode;
                 if (auto err = parse_level(req, &mode)) return *err;
                 if (Status s = reg->SetSubjectCompatibility(p.at("subject"), *mode); !s.ok()) {
                   return s.code() == StatusCode::kInvalidArgument ? Error(422, 42201, s.message())
                                                                   : StoreError(s);
                 }
                 return Json(200, {{"compatibility", CompatibilityModeName(*mode)}});
               }});
  return e;
}

// Scope lookup without a registry: patterns and scopes only.
const std::vector<Endpoint>& EndpointShapes() {
  static const std::vector<Endpoint> shapes = Endpoints(nullptr);  // handlers never called
  return shapes;
}

}  // namespace

std::vector<RegistryRoute> RegistryRoutes(Registry& registry) {
  std::vector<RegistryRoute> routes;
  for (Endpoint& e : Endpoints(&registry)) {
    std::string pattern = e.pattern;
    Handler h = std::move(e.handler);
    routes.push_back({e.method, pattern, e.scope, [pattern, h](const HttpRequest& req) {
                        Params params;
                        if (!MatchPattern(pattern, req.path, &params)) {
                          return Error(404, 404, fmt::format("HTTP 404 Not Found: {}", req.path));
                        }
                        return h(req, params);
                      }});
  }
  return routes;
}

gateway::RouteHandler RegistryDispatcher(Registry& registry) {
  auto endpoints = std::make_shared<std::vector<Endpoint>>(Endpoints(&registry));
  return [endpoints](const HttpRequest& req) {
    bool path_known = false;
    for (const Endpoint& e : *endpoints) {
      Params params;
      if (!MatchPattern(e.pattern, req.path, &params)) continue;
      path_known = true;
      if (req.method == e.method) return e.handler(req, params);
    }
    if (path_known) return Error(405, 405, fmt::format("HTTP 405 Method Not Allowed: {} {}", req.method, req.path));
    return Error(404, 404, fmt::format("HTTP 404 Not Found: {}", req.path));
  };
}

std::string_view RegistryScope(std::string_view method, std::string_view path) {
  for (const Endpoint& e : EndpointShapes()) {
    if (method == e.method && MatchPattern(e.pattern, path, nullptr)) return e.scope;
  }
  for (std::string_view prefix : kRegistryPathPrefixes) {
    if (path.substr(0, prefix.size()) == prefix &&
        (path.size() == prefix.size() || path[prefix.size()] == '/')) {
      return "read";  // unknown method or path under a registry prefix: answered 404/405
    }
  }
  return "";
}

}  // namespace tidemark::schema
