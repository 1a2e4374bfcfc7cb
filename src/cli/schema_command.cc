// The schema commands speak Confluent Schema Registry's REST API through the blocking HTTP
// client, so they work against tidemark's registry listener (and any Confluent-compatible
// registry). Errors name the request, the HTTP status and the registry's error_code.
#include "cli/schema_command.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/http_client.h"
#include "common/files.h"
#include "common/status.h"

namespace tidemark::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kContentType = "application/vnd.schemaregistry.v1+json";

// A refused call: what to print, and the registry's error_code when it sent one.
struct CallError {
  std::string message;
  int http_status = 0;
  int error_code = 0;
};

class RegistryClient {
 public:
  RegistryClient(std::string host, uint16_t port, std::string key)
      : conn_(std::move(host), port), key_(std::move(key)) {}

  // One request; a 2xx answer's JSON body, else a CallError that names the request, the
  // status and the registry's {"error_code","message"} (or the gateway's {"error","message"}).
  std::variant<json, CallError> Call(std::string_view method, const std::string& target,
                                     const std::string& body = "") {
    std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + key_},
                                                                {"Accept", std::string(kContentType)}};
    if (!body.empty()) headers.emplace_back("Content-Type", std::string(kContentType));
    auto answer = conn_.Request(method, target, body, headers);
    if (!answer.ok()) {
      return CallError{fmt::format("{} {}: {}", method, target, answer.status().message())};
    }
    json parsed = json::parse(answer->body, nullptr, false);
    if (answer->status >= 200 && answer->status < 300) {
      if (parsed.is_discarded()) {
        return CallError{fmt::format("{} {}: answer is not JSON: {:.200}", method, target, answer->body),
                         answer->status};
      }
      return parsed;
    }
    CallError error{"", answer->status};
    std::string detail;
    if (parsed.is_object() && parsed.contains("error_code") && parsed["error_code"].is_number_integer()) {
      error.error_code = parsed["error_code"].get<int>();
      detail = fmt::format("error_code {}: {}", error.error_code, parsed.value("message", ""));
    } else if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
      detail = fmt::format("{}: {}", parsed["error"].get<std::string>(), parsed.value("message", ""));
    } else {
      detail = fmt::format("{:.200}", answer->body);
    }
    error.message = fmt::format("{} {} answered HTTP {}, {}", method, target, answer->status, detail);
    return error;
  }

 private:
  HttpConnection conn_;
  std::string key_;
};

// Prints "tidemark schema <command>: <message>" on stderr and returns `exit_code`.
int Complain(std::string_view command, std::string_view message, int exit_code) {
  std::fprintf(stderr, "tidemark schema %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data());
  return exit_code;
}
int Usage(std::string_view command, std::string_view message) { return Complain(command, message, 2); }
int Failed(std::string_view command, std::string_view message) { return Complain(command, message, 1); }

// Runs a command; a registry answer of an unexpected shape (nlohmann's type errors) ends
// it with a message instead of an uncaught exception.
template <typename Command>
int Guarded(std::string_view command, Command&& run) {
  try {
    return run();
  } catch (const nlohmann::json::exception& e) {
    return Failed(command, std::string("unexpected answer from the registry: ") + e.what());
  }
}

// A path segment: everything but RFC 3986's unreserved characters percent-encoded.
std::string PathSegment(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// The client for the options' URL and key, or a usage error (exit code 2).
std::variant<std::unique_ptr<RegistryClient>, int> Connect(std::string_view command,
                                                           const SchemaCommandOptions& o) {
  std::string key = o.key;
  if (key.empty()) {
    const char* env = std::getenv("TIDEMARK_KEY");
    if (env != nullptr) key = env;
  }
  if (key.empty()) return Usage(command, "no key: pass --key KEY or set TIDEMARK_KEY");
  std::string host;
  uint16_t port = 0;
  if (Status st = ParseHttpUrl(o.url, &host, &port); !st.ok()) return Usage(command, st.message());
  return std::make_unique<RegistryClient>(host, port, key);
}

// The subject named by --subject or --event-type (exactly one).
std::optional<std::string> Subject(const SchemaCommandOptions& o) {
  if (o.subject.empty() == o.event_type.empty()) return std::nullopt;
  return o.subject.empty() ? o.event_type + "-value" : o.subject;
}

// {"schema": <file text>, "schemaType": "AVRO"}; InvalidArgument names what is missing.
Result<std::string> SchemaBody(const std::string& file) {
  if (file.empty()) return Status::InvalidArgument("--file F.avsc is required");
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(file));
  // Bytes that are not UTF-8 become U+FFFD here; the registry then names the field.
  return json{{"schema", text}, {"schemaType", "AVRO"}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

// What register and check both start from: the subject, the request body (the schema
// file) and a client; or the exit code of the usage error that stops them.
struct SchemaRequest {
  std::string subject;
  std::string body;
  std::unique_ptr<RegistryClient> client;
};
std::variant<SchemaRequest, int> PrepareSchemaRequest(std::string_view command, const SchemaCommandOptions& o) {
  auto subject = Subject(o);
  if (!subject) return Usage(command, "give exactly one of --event-type T or --subject S");
  auto body = SchemaBody(o.file);
  if (!body.ok()) return Usage(command, body.status().message());
  auto connected = Connect(command, o);
  if (auto* rc = std::get_if<int>(&connected)) return *rc;
  return SchemaRequest{std::move(*subject), std::move(body).value(), std::move(std::get<0>(connected))};
}

std::string JoinVersions(const json& versions) {
  std::string out;
  if (!versions.is_array()) return out;
  for (const json& v : versions) {
    if (!out.empty()) out += ',';
    out += v.dump();
  }
  return out;
}

// The schema text as it was registered (so `show > F.avsc` gives back the file), ending
// in a newline.
void PrintSchema(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (text.empty() || text.back() != '\n') std::fputc('\n', stdout);
}

int Register(const SchemaCommandOptions& o) {
  constexpr std::string_view kCommand = "register";
  auto prepared = PrepareSchemaRequest(kCommand, o);
  if (auto* rc = std::get_if<int>(&prepared)) return *rc;
  const SchemaRequest& request = std::get<SchemaRequest>(prepared);
  RegistryClient& client = *request.client;
  const std::string base = "/subjects/" + PathSegment(request.subject);
  auto registered = client.Call("POST", base + "/versions", request.body);
  if (auto* e = std::get_if<CallError>(&registered)) return Failed(kCommand, e->message);
  // The answer holds only the id; the lookup gives the version (the existing one when the
  // subject already had this schema).
  auto version = client.Call("POST", base, request.body);
  if (auto* e = std::get_if<CallError>(&version)) return Failed(kCommand, e->message);
  const json& v = std::get<json>(version);
  std::printf("registered %s version %d, schema id %d\n", request.subject.c_str(), v.value("version", 0),
              std::get<json>(registered).value("id", 0));
  return 0;
}

int List(const SchemaCommandOptions& o) {
  constexpr std::string_view kCommand = "list";
  auto connected = Connect(kCommand, o);
  if (auto* rc = std::get_if<int>(&connected)) return *rc;
  RegistryClient& client = *std::get<0>(connected);
  auto subjects = client.Call("GET", "/subjects");
  if (auto* e = std::get_if<CallError>(&subjects)) return Failed(kCommand, e->message);
  std::string out = fmt::format("{:<40} {}\n", "SUBJECT", "VERSIONS");
  for (const json& s : std::get<json>(subjects)) {
    if (!s.is_string()) continue;
    const std::string subject = s.get<std::string>();
    auto versions = client.Call("GET", "/subjects/" + PathSegment(subject) + "/versions");
    if (auto* e = std::get_if<CallError>(&versions)) return Failed(kCommand, e->message);
    out += fmt::format("{:<40} {}\n", subject, JoinVersions(std::get<json>(versions)));
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int Show(const SchemaCommandOptions& o) {
  constexpr std::string_view kCommand = "show";
  auto subject = Subject(o);
  if (o.id > 0 && (!o.subject.empty() || !o.event_type.empty())) {
    return Usage(kCommand, "give --id N, or a subject (--event-type T or --subject S) with --version");
  }
  if (o.id <= 0 && !subject) return Usage(kCommand, "give --id N, or exactly one of --event-type T or --subject S");
  auto connected = Connect(kCommand, o);
  if (auto* rc = std::get_if<int>(&connected)) return *rc;
  RegistryClient& client = *std::get<0>(connected);
  if (o.id > 0) {
    const std::string target = "/schemas/ids/" + std::to_string(o.id);
    auto schema = client.Call("GET", target);
    if (auto* e = std::get_if<CallError>(&schema)) return Failed(kCommand, e->message);
    auto used_by = client.Call("GET", target + "/versions");
    if (auto* e = std::get_if<CallError>(&used_by)) return Failed(kCommand, e->message);
    std::string where;
    for (const json& sv : std::get<json>(used_by)) {
      where += fmt::format("{}{} version {}", where.empty() ? "" : ", ", sv.value("subject", ""), sv.value("version", 0));
    }
    std::fprintf(stderr, "schema id %d: %s\n", o.id, where.empty() ? "no subject" : where.c_str());
    PrintSchema(std::get<json>(schema).value("schema", ""));
    return 0;
  }
  auto version = client.Call("GET", "/subjects/" + PathSegment(*subject) + "/versions/" + PathSegment(o.version));
  if (auto* e = std::get_if<CallError>(&version)) return Failed(kCommand, e->message);
  const json& v = std::get<json>(version);
  std::fprintf(stderr, "%s version %d, schema id %d\n", v.value("subject", "").c_str(), v.value("version", 0),
               v.value("id", 0));
  PrintSchema(v.value("schema", ""));
  return 0;
}

int Check(const SchemaCommandOptions& o) {
  constexpr std::string_view kCommand = "check";
  auto prepared = PrepareSchemaRequest(kCommand, o);
  if (auto* rc = std::get_if<int>(&prepared)) return *rc;
  const SchemaRequest& request = std::get<SchemaRequest>(prepared);
  RegistryClient& client = *request.client;
  const std::string segment = PathSegment(request.subject);
  auto mode = client.Call("GET", "/config/" + segment + "?defaultToGlobal=true");
  if (auto* e = std::get_if<CallError>(&mode)) return Failed(kCommand, e->message);
  const std::string level = std::get<json>(mode).value("compatibilityLevel", "?");
  std::string versions;
  auto listed = client.Call("GET", "/subjects/" + segment + "/versions");
  if (auto* e = std::get_if<CallError>(&listed)) {
    if (e->error_code != 40401) return Failed(kCommand, e->message);  // 40401: no versions yet
  } else {
    versions = JoinVersions(std::get<json>(listed));
  }
  // Checked against every version the subject's mode asks for, as registering would be.
  auto result = client.Call("POST", "/compatibility/subjects/" + segment + "/versions?verbose=true",
                            request.body);
  if (auto* e = std::get_if<CallError>(&result)) return Failed(kCommand, e->message);
  const json& r = std::get<json>(result);
  const std::string against = fmt::format("{} versions {} under {}", request.subject, versions, level);
  if (r.value("is_compatible", false)) {
    if (versions.empty()) {
      std::printf("compatible: %s is a valid event schema; %s has no versions yet\n", o.file.c_str(), request.subject.c_str());
    } else {
      std::printf("compatible: %s may follow %s\n", o.file.c_str(), against.c_str());
    }
    return 0;
  }
  std::string out = fmt::format("incompatible: {} may not follow {}:\n", o.file, against);
  if (r.contains("messages") && r["messages"].is_array()) {
    for (const json& m : r["messages"]) out += "  - " + (m.is_string() ? m.get<std::string>() : m.dump()) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 1;
}

}  // namespace

int SchemaRegister(const SchemaCommandOptions& o) { return Guarded("register", [&] { return Register(o); }); }
int SchemaList(const SchemaCommandOptions& o) { return Guarded("list", [&] { return List(o); }); }
int SchemaShow(const SchemaCommandOptions& o) { return Guarded("show", [&] { return Show(o); }); }
int SchemaCheck(const SchemaCommandOptions& o) { return Guarded("check", [&] { return Check(o); }); }

}  // namespace tidemark::cli
