// Confluent framing and the consumer-side resolving decoder.
#include "schema/wire_format.h"

#include <fmt/format.h>

namespace tidemark::schema {

void AppendWireHeader(int32_t schema_id, std::string* out) {
  uint32_t id = static_cast<uint32_t>(schema_id);
  char header[kWireHeaderSize] = {kWireMagicByte, static_cast<char>(id >> 24), static_cast<char>(id >> 16),
                                  static_cast<char>(id >> 8), static_cast<char>(id)};
  out->append(header, kWireHeaderSize);
}

Result<WireValue> ParseWireValue(std::string_view value) {
  if (value.size() < kWireHeaderSize) {
    return Status::Corruption(fmt::format("wire format: value of {} bytes is shorter than the 5-byte header",
                                          value.size()));
  }
  if (value[0] != kWireMagicByte) {
    return Status::Corruption(fmt::format("wire format: magic byte is {}, expected 0",
                                          static_cast<unsigned char>(value[0])));
  }
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(value[i])); };
  WireValue out;
  out.schema_id = static_cast<int32_t>((b(1) << 24) | (b(2) << 16) | (b(3) << 8) | b(4));
  out.avro = value.substr(kWireHeaderSize);
  return out;
}

Status EncodeFramed(int32_t schema_id, const AvroSchema& schema, simdjson::dom::element event,
                    const EncodeOptions& options, std::string* out) {
  const size_t mark = out->size();
  AppendWireHeader(schema_id, out);
  Status s = EncodeJson(schema, event, options, out);
  if (!s.ok()) out->resize(mark);
  return s;
}

Result<std::shared_ptr<const ResolvingDecoder>> ConsumerDecoder::DecoderFor(int32_t writer_id,
                                                                             std::string_view subject) {
  auto writer = registry_.SchemaById(writer_id);
  if (!writer.ok()) {
    RETURN_IF_ERROR(registry_.CatchUp());
    writer = registry_.SchemaById(writer_id);
    if (!writer.ok()) return Status::NotFound(fmt::format("wire format: schema id {} is not registered", writer_id));
  }
  std::string reader_subject(subject);
  if (reader_subject.empty()) {
    auto uses = registry_.SubjectVersionsOfId(writer_id);
    if (uses.empty()) return Status::NotFound(fmt::format("schema id {} is in no subject", writer_id));
    reader_subject = uses.front().first;
  }
  ASSIGN_OR_RETURN(SchemaVersion reader, registry_.GetVersion(reader_subject, kLatestVersion));
  std::lock_guard lock(mu_);
  auto& slot = decoders_[{writer_id, reader.id}];
  if (!slot) {
    ASSIGN_OR_RETURN(auto decoder, ResolvingDecoder::Create(*writer, reader.schema));
    slot = std::move(decoder);
  }
  return slot;
}

Status ConsumerDecoder::DecodeToJson(std::string_view value, std::string* out, std::string_view subject) {
  ASSIGN_OR_RETURN(WireValue wire, ParseWireValue(value));
  ASSIGN_OR_RETURN(auto decoder, DecoderFor(wire.schema_id, subject));
  return decoder->DecodeToJson(wire.avro, out);
}

}  // namespace tidemark::schema
