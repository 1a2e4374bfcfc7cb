// `tidemark schema register|list|show|check`: the schema registry of a running server, over
// its REST API (Confluent's paths on server.registry_listen), with a key that has the read
// scope (list, show, check) or the admin scope (register).
#pragma once

#include <string>

namespace tidemark::cli {

struct SchemaCommandOptions {
  std::string url = "http://127.0.0.1:8081";
  std::string key;         // empty: $TIDEMARK_KEY, which keeps the key out of `ps`
  std::string event_type;  // subject "<event_type>-value" ...
  std::string subject;     // ... or a subject by name (exactly one of the two)
  std::string file;        // register, check: the .avsc file
  std::string version = "latest";  // show: a version number or "latest"
  int id = 0;                      // show: a global schema id instead of a subject version
};

// Each prints to stdout and returns the exit code: 0 done, 1 refused or unreachable (the
// registry's error_code and message on stderr), 2 bad arguments. check exits 1 when the
// schema is incompatible, listing what breaks.
int SchemaRegister(const SchemaCommandOptions& options);  // prints subject, version and id
int SchemaList(const SchemaCommandOptions& options);      // every subject with its versions
int SchemaShow(const SchemaCommandOptions& options);      // the schema JSON (details on stderr)
int SchemaCheck(const SchemaCommandOptions& options);     // compatible with every version the mode asks for?

}  // namespace tidemark::cli
