// Test-only: prints, one JSON object per line, records encoded by tidemark's Avro encoder
// ({"name","schema","canonical","hex","json"}) for tests/schema/avsc_check.mjs, which
// decodes them with the independent npm `avsc` library and compares.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "schema/avro.h"

namespace {

std::string Load(const std::string& name) {
  std::ifstream in(std::string(TIDEMARK_SCHEMAS_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr const char* kAllTypes = R"({"type":"record","name":"AllTypes","namespace":"t.fx","fields":[
  {"name":"b","type":"boolean"},{"name":"i","type":"int"},{"name":"l","type":"long"},
  {"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"by","type":"bytes"},
  {"name":"s","type":"string"},
  {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}},
  {"name":"fx","type":{"type":"fixed","name":"Four","size":4}},
  {"name":"arr","type":{"type":"array","items":"long"}},
  {"name":"m","type":{"type":"map","values":["null","string"]}},
  {"name":"u","type":["null","long","Color"]},
  {"name":"nested","type":{"type":"array","items":{"type":"record","name":"Pair","fields":[
    {"name":"k","type":"string"},{"name":"v","type":"double","default":0}]}}}]})";

constexpr const char* kList = R"({"type":"record","name":"Node","fields":[{"name":"v","type":"int"},
  {"name":"next","type":["null","Node"],"default":null}]})";

struct Case {
  const char* name;
  std::string schema;
  const char* event;
};

}  // namespace

int main() {
  const Case cases[] = {
      {"page_view_v1", Load("page_view/v1.avsc"),
       R"({"event_id":"e-1","user_id":"u-1","event_type":"page_view","timestamp":1775800800000})"},
      {"page_view_v3", Load("page_view/v3.avsc"),
       R"({"event_id":"e-2","event_type":"page_view","timestamp":"2026-04-10T06:00:00Z",
          "context":{"device_type":"tablet","geo_lat":52.52,"geo_lng":-13.405}})"},
      {"checkout_pii", Load("checkout.avsc"),
       R"({"event_id":"e-3","event_type":"checkout","timestamp":1,"user_id":"ü-ser","platform":"android",
          "context":{"ip":"2001:db8:1:2::3","locale":"fr-FR"},
          "properties":{"order_id":"o","revenue":99.99,"email":"a@b.c","phone":"1","shipping_address":"x",
            "items":[{"sku":"s1","quantity":-3,"price":0.5},{"sku":"s2","quantity":2147483647,"price":1e10}]}})"},
      {"all_types", kAllTypes,
       R"({"b":true,"i":-2147483648,"l":-4503599627370495,"f":1.1,"d":-0.000123,"by":"\u0000\u00ff\u0080x",
          "s":"snow ☃ \"quoted\" \\ tab\t","e":"BLUE","fx":"abcd","arr":[0,1,-1,300,-300,4294967296],
          "m":{"a":"x","b":null,"":"empty key"},"u":"GREEN","nested":[{"k":"p"},{"k":"q","v":2.5}]})"},
      {"all_types_long_branch", kAllTypes,
       R"({"b":false,"i":0,"l":0,"f":0,"d":0,"by":"","s":"","e":"RED","fx":"\u0000\u0000\u0000\u0000",
          "arr":[],"m":{},"u":12345678901,"nested":[]})"},
      {"linked_list", kList, R"({"v":1,"next":{"v":2,"next":{"v":3}}})"},
  };
  tidemark::schema::EncodeOptions options;
  options.pii_hash_secret = "fixture-secret";
  for (const Case& c : cases) {
    auto schema = tidemark::schema::AvroSchema::Parse(c.schema);
    if (!schema.ok()) {
      std::fprintf(stderr, "%s: %s\n", c.name, schema.status().ToString().c_str());
      return 1;
    }
    auto bin = tidemark::schema::EncodeJsonText(**schema, c.event, options);
    if (!bin.ok()) {
      std::fprintf(stderr, "%s: %s\n", c.name, bin.status().ToString().c_str());
      return 1;
    }
    auto back = tidemark::schema::DecodeToJson(**schema, *bin);
    if (!back.ok()) {
      std::fprintf(stderr, "%s: %s\n", c.name, back.status().ToString().c_str());
      return 1;
    }
    std::string hex;
    for (unsigned char ch : *bin) {
      static constexpr char kHex[] = "0123456789abcdef";
      hex.push_back(kHex[ch >> 4]);
      hex.push_back(kHex[ch & 15]);
    }
    nlohmann::json line = {{"name", c.name},
                           {"schema", c.schema},
                           {"canonical", (*schema)->canonical_form()},
                           {"fingerprint", std::to_string((*schema)->fingerprint())},
                           {"hex", hex},
                           {"json", *back}};
    std::printf("%s\n", line.dump().c_str());
  }
  return 0;
}
