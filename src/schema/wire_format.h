// Confluent's wire format for log record values — byte 0 (magic), the schema id as 4
// bytes big-endian, then the Avro binary body — so any Kafka consumer with a registry
// client reads tidemark's topics; and the consumer side of it, which resolves the writer
// schema (by id) to the latest reader schema of the subject.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "schema/avro.h"
#include "schema/registry.h"

namespace tidemark::schema {

inline constexpr char kWireMagicByte = 0;
inline constexpr size_t kWireHeaderSize = 5;

void AppendWireHeader(int32_t schema_id, std::string* out);

struct WireValue {
  int32_t schema_id = 0;
  std::string_view avro;  // points into the value passed to ParseWireValue
};
// Corruption when the value is shorter than the header or its magic byte is not 0.
Result<WireValue> ParseWireValue(std::string_view value);

// Producer helper: header + EncodeJson (see avro.h); *out keeps its size on failure.
Status EncodeFramed(int32_t schema_id, const AvroSchema& schema, simdjson::dom::element event,
                    const EncodeOptions& options, std::string* out);

// Decodes framed values into JSON shaped by the latest schema of a subject, so consumers
// see fields added later with their defaults. Caches one ResolvingDecoder per (writer id,
// reader id). Thread-safe; `registry` must outlive it.
class ConsumerDecoder {
 public:
  explicit ConsumerDecoder(Registry& registry) : registry_(registry) {}

  // Appends the JSON of `value` to *out. `subject` names the reader; when empty, the
  // subject under which the writer schema was first registered. An id the registry does
  // not know yet makes it catch up with the log once before failing with NotFound.
  Status DecodeToJson(std::string_view value, std::string* out, std::string_view subject = {});

  // The decoder from writer schema `writer_id` to the latest schema of `subject` (as
  // above). Callers on a hot path keep what this returns per writer id and ask again when
  // the registry's generation() moves.
  Result<std::shared_ptr<const ResolvingDecoder>> DecoderFor(int32_t writer_id, std::string_view subject = {});

 private:

  Registry& registry_;
  std::mutex mu_;
  std::map<std::pair<int, int>, std::shared_ptr<const ResolvingDecoder>> decoders_;
};

}  // namespace tidemark::schema
