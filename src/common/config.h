// Configuration: every setting has a dotted name, a type, a default and a line of help in
// one table (config.cc). Values come from the defaults, then a TOML file, then --set
// KEY=VALUE flags, each overriding the last. Unknown names and ill-typed values are refused
// at load time, so a stage's Get* never fails. Not thread-safe to mutate; read-only once the
// server starts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace tidemark {

enum class SettingType { kInt, kDouble, kBool, kString };

struct SettingDef {
  const char* name;
  SettingType type;
  const char* default_value;
  const char* help;
};

// A write key given in the config file ([[keys]] tables) rather than created by
// `tidemark keys create`.
struct ConfiguredKey {
  std::string key;
  std::string source;
  std::string platform;
  std::vector<std::string> scopes;
};

const std::vector<SettingDef>& AllSettings();

class Config {
 public:
  // All settings at their defaults.
  Config();

  Status LoadTomlFile(const std::string& path);
  Status LoadTomlString(std::string_view toml, std::string_view origin = "<string>");
  // "gateway.io_threads=4"
  Status SetAssignment(std::string_view assignment);
  Status Set(std::string_view name, std::string_view value);

  int64_t GetInt(std::string_view name) const;
  double GetDouble(std::string_view name) const;
  bool GetBool(std::string_view name) const;
  const std::string& GetString(std::string_view name) const;

  const std::vector<ConfiguredKey>& configured_keys() const { return keys_; }

  // Every setting as TOML with its help text, current values.
  std::string DumpToml() const;

 private:
  const std::string& Raw(std::string_view name) const;
  std::map<std::string, std::string, std::less<>> values_;
  std::vector<ConfiguredKey> keys_;
};

}  // namespace tidemark
