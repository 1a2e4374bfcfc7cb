#include "lake/parquet_metadata_internal.h"

#include "lake/thrift_compact_internal.h"

namespace tidemark::lake::pq {

namespace {

using CT = CompactType;

// ---- serialisation ----------------------------------------------------------------------

void WriteLogicalType(CompactWriter& w, const LogicalType& lt) {
  w.BeginStruct();  // LogicalType union: exactly one member set
  switch (lt.kind) {
    case LogicalType::Kind::kString:
      w.FieldStruct(1);  // STRING: StringType {}
      w.BeginStruct();
      w.EndStruct();
      break;
    case LogicalType::Kind::kTimestamp:
      w.FieldStruct(8);  // TIMESTAMP: TimestampType
      w.BeginStruct();
      w.FieldBool(1, lt.timestamp_utc);
      w.FieldStruct(2);  // unit: TimeUnit union
      w.BeginStruct();
      w.FieldStruct(lt.unit == LogicalType::TimeUnit::kMillis   ? 1
                    : lt.unit == LogicalType::TimeUnit::kMicros ? 2
                                                                : 3);
      w.BeginStruct();
      w.EndStruct();
      w.EndStruct();
      w.EndStruct();
      break;
    case LogicalType::Kind::kInteger:
      w.FieldStruct(10);  // INTEGER: IntType
      w.BeginStruct();
      w.FieldI8(1, lt.int_bit_width);
      w.FieldBool(2, lt.int_signed);
      w.EndStruct();
      break;
    case LogicalType::Kind::kNone:
    case LogicalType::Kind::kOther:
      break;
  }
  w.EndStruct();
}

void WriteSchemaElement(CompactWriter& w, const SchemaElement& e) {
  w.BeginStruct();
  if (e.type) w.FieldI32(1, static_cast<int32_t>(*e.type));
  if (e.repetition) w.FieldI32(3, static_cast<int32_t>(*e.repetition));
  w.FieldBinary(4, e.name);
  if (e.num_children) w.FieldI32(5, *e.num_children);
  if (e.converted_type) w.FieldI32(6, static_cast<int32_t>(*e.converted_type));
  if (e.field_id) w.FieldI32(9, *e.field_id);
  if (e.logical_type.kind != LogicalType::Kind::kNone &&
      e.logical_type.kind != LogicalType::Kind::kOther) {
    w.FieldStruct(10);
    WriteLogicalType(w, e.logical_type);
  }
  w.EndStruct();
}

void WriteStatistics(CompactWriter& w, const Statistics& s) {
  w.BeginStruct();
  if (s.legacy_max) w.FieldBinary(1, *s.legacy_max);
  if (s.legacy_min) w.FieldBinary(2, *s.legacy_min);
  if (s.null_count) w.FieldI64(3, *s.null_count);
  if (s.max_value) w.FieldBinary(5, *s.max_value);
  if (s.min_value) w.FieldBinary(6, *s.min_value);
  if (s.is_max_value_exact) w.FieldBool(7, *s.is_max_value_exact);
  if (s.is_min_value_exact) w.FieldBool(8, *s.is_min_value_exact);
  w.EndStruct();
}

void WriteColumnMetaData(CompactWriter& w, const ColumnMetaData& m) {
  w.BeginStruct();
  w.FieldI32(1, static_cast<int32_t>(m.type));
  w.FieldList(2, CT::kI32, static_cast<uint32_t>(m.encodings.size()));
  for (Encoding e : m.encodings) w.ListI32(static_cast<int32_t>(e));
  w.FieldList(3, CT::kBinary, static_cast<uint32_t>(m.path_in_schema.size()));
  for (const std::string& p : m.path_in_schema) w.ListBinary(p);
  w.FieldI32(4, static_cast<int32_t>(m.codec));
  w.FieldI64(5, m.num_values);
  w.FieldI64(6, m.total_uncompressed_size);
  w.FieldI64(7, m.total_compressed_size);
  w.FieldI64(9, m.data_page_offset);
  if (m.dictionary_page_offset) w.FieldI64(11, *m.dictionary_page_offset);
  if (m.statistics) {
    w.FieldStruct(12);
    WriteStatistics(w, *m.statistics);
  }
  w.EndStruct();
}

void WriteRowGroup(CompactWriter& w, const RowGroup& rg) {
  w.BeginStruct();
  w.FieldList(1, CT::kStruct, static_cast<uint32_t>(rg.columns.size()));
  for (const ColumnChunk& c : rg.columns) {
    w.BeginStruct();
    w.FieldI64(2, c.file_offset);
    if (c.has_meta_data) {
      w.FieldStruct(3);
      WriteColumnMetaData(w, c.meta_data);
    }
    w.EndStruct();
  }
  w.FieldI64(2, rg.total_byte_size);
  w.FieldI64(3, rg.num_rows);
  if (rg.file_offset) w.FieldI64(5, *rg.file_offset);
  if (rg.total_compressed_size) w.FieldI64(6, *rg.total_compressed_size);
  if (rg.ordinal) w.FieldI16(7, *rg.ordinal);
  w.EndStruct();
}

// ---- parsing ------------------------------------------------------------------------------

// Each Parse* expects the reader positioned at the start of a struct and consumes it.

LogicalType ParseLogicalType(CompactReader& r) {
  LogicalType lt;
  lt.kind = LogicalType::Kind::kOther;
  r.BeginStruct();
  int16_t id;
  CT type;
  while (r.NextField(&id, &type)) {
    if (id == 1 && type == CT::kStruct) {
      lt.kind = LogicalType::Kind::kString;
      r.Skip(type);
    } else if (id == 8 && type == CT::kStruct) {
      lt.kind = LogicalType::Kind::kTimestamp;
      r.BeginStruct();
      int16_t tid;
      CT ttype;
      while (r.NextField(&tid, &ttype)) {
        if (tid == 1 && (ttype == CT::kBoolTrue || ttype == CT::kBoolFalse)) {
          lt.timestamp_utc = CompactReader::BoolFromFieldType(ttype);
        } else if (tid == 2 && ttype == CT::kStruct) {
          r.BeginStruct();
          int16_t uid;
          CT utype;
          while (r.NextField(&uid, &utype)) {
            if (uid == 1) lt.unit = LogicalType::TimeUnit::kMillis;
            if (uid == 2) lt.unit = LogicalType::TimeUnit::kMicros;
            if (uid == 3) lt.unit = LogicalType::TimeUnit::kNanos;
            r.Skip(utype);
          }
          r.EndStruct();
        } else {
          r.Skip(ttype);
        }
      }
      r.EndStruct();
    } else if (id == 10 && type == CT::kStruct) {
      lt.kind = LogicalType::Kind::kInteger;
      r.BeginStruct();
      int16_t iid;
      CT itype;
      while (r.NextField(&iid, &itype)) {
        if (iid == 1 && itype == CT::kByte) {
          lt.int_bit_width = r.ReadI8();
        } else if (iid == 2 && (itype == CT::kBoolTrue || itype == CT::kBoolFalse)) {
          lt.int_signed = CompactReader::BoolFromFieldType(itype);
        } else {
          r.Skip(itype);
        }
      }
      r.EndStruct();
    } else {
      r.Skip(type);
    }
  }
  r.EndStruct();
  return lt;
}

SchemaElement ParseSchemaElement(CompactReader& r) {
  SchemaElement e;
  r.BeginStruct();
  int16_t id;
  CT type;
  while (r.NextField(&id, &type)) {
    switch (id) {
      case 1:
        e.type = static_cast<Type>(r.ReadI32());
        break;
      case 3:
        e.repetition = static_cast<Repetition>(r.ReadI32());
        break;
      case 4:
        e.name = r.ReadBinary();
        break;
      case 5:
        e.num_children = r.ReadI32();
        break;
      case 6:
        e.converted_type_raw = r.ReadI32();
        e.converted_type = static_cast<ConvertedType>(*e.converted_type_raw);
        break;
      case 9:
        e.field_id = r.ReadI32();
        break;
      case 10:
        if (type == CT::kStruct) {
          e.logical_type = ParseLogicalType(r);
        } else {
          r.Skip(type);
        }
        break;
      default:
        r.Skip(type);
    }
  }
  r.EndStruct();
  return e;
}

Statistics ParseStatistics(CompactReader& r) {
  Statistics s;
  r.BeginStruct();
  int16_t id;
  CT type;
  while (r.NextField(&id, &type)) {
    switch (id) {
      case 1:
        s.legacy_max = r.ReadBinary();
        break;
      case 2:
        s.legacy_min = r.ReadBinary();
        break;
      case 3:
        s.null_count = r.ReadI64();
        break;
      case 5:
        s.max_value = r.ReadBinary();
        break;
      case 6:
        s.min_value = r.ReadBinary();
        break;
      case 7:
        s.is_max_value_exact = CompactReader::BoolFromFieldType(type);
        break;
      case 8:
        s.is_min_value_exact = CompactReader::BoolFromFieldType(type);
        break;
      default:
        r.Skip(type);
    }
  }
  r.EndStruct();
  return s;
}

ColumnMetaData ParseColumnMetaData(CompactReader& r) {
  ColumnMetaData m;
  r.BeginStruct();
  int16_t id;
  CT type;
  while (r.NextField(&id, &type)) {
    switch (id) {
      case 1:
        m.type = static_cast<Type>(r.ReadI32());
        break;
      case 2: {
        CT et;
        const uint32_t n = r.ReadListHeader(&et);
        for (uint32_t i = 0; i < n && r.ok(); ++i) {
          m.encodings.push_back(static_cast<Encoding>(r.ReadI32()));
        }
        break;
      }
      case 3: {
        CT et;
        const uint32_t n = r.ReadListHeader(&et);
        for (uint32_t i = 0; i < n && r.ok(); ++i) m.path_in_schema.push_back(r.ReadBinary());
        break;
      }
      case 4:
        m.codec = static_cast<Codec>(r.ReadI32());
        break;
      case 5:
        m.num_values = r.ReadI64();
        break;
      case 6:
        m.total_uncompressed_size = r.ReadI64();
        break;
      case 7:
        m.total_compressed_size = r.ReadI64();
        break;
      case 9:
        m.data_page_offset = r.ReadI64();
        break;
      case 11:
        m.dictionary_page_offset = r.ReadI64();
        break;
      case 12:
        if (type == CT::kStruct) {
          m.statistics = ParseStatistics(r);
        } else {
          r.Skip(type);
        }
        break;
      default:
        r.Skip(type);
    }
  }
  r.EndStruct();
  return m;
}

ColumnChunk ParseColumnChunk(CompactReader& r) {
  ColumnChunk c;
  r.BeginStruct();
  int16_t id;
  CT type;
  while (r.NextField(&id, &type)) {
    if (id == 2 && type == CT::kI64) {
      c.file_offset = r.ReadI64();
    } else if (id == 3 && type == CT::kStruct) {
      c.has_meta_data = true;
      c.meta_data = ParseColumnMetaData(r);
    } else {
      r.Skip(type);
    }
  }
  r.EndStruct();
  return c;
}

RowGroup ParseRowGroup(CompactReader& r) {
  RowGroup rg;
  r.BeginStruct();
  int16_t id;
  CT type;
  while (r.NextField(&id, &type)) {
    switch (id) {
      case 1: {
        CT et;
        const uint32_t n = r.ReadListHeader(&et);
        for (uint32_t i = 0; i < n && r.ok(); ++i) rg.columns.push_back(ParseColumnChunk(r));
        break;
      }
      case 2:
        rg.total_byte_size = r.ReadI64();
        break;
      case 3:
        rg.num_rows = r.ReadI64();
        break;
      case 5:
        rg.file_offset = r.ReadI64();
        break;
      case 6:
        rg.total_compressed_size = r.ReadI64();
        break;
      case 7:
        rg.ordinal = static_cast<int16_t>(r.ReadI32());
        break;
      default:
        r.Skip(type);
    }
  }
  r.EndStruct();
  return rg;
}

}  // namespace

void SerializeFileMetaData(const FileMetaData& meta, std::string* out) {
  CompactWriter w(out);
  w.BeginStruct();
  w.FieldI32(1, meta.version);
  w.FieldList(2, CT::kStruct, static_cast<uint32_t>(meta.schema.size()));
  for (const SchemaElement& e : meta.schema) WriteSchemaElement(w, e);
  w.FieldI64(3, meta.num_rows);
  w.FieldList(4, CT::kStruct, static_cast<uint32_t>(meta.row_groups.size()));
  for (const RowGroup& rg : meta.row_groups) WriteRowGroup(w, rg);
  if (!meta.key_value_metadata.empty()) {
    w.FieldList(5, CT::kStruct, static_cast<uint32_t>(meta.key_value_metadata.size()));
    for (const KeyValue& kv : meta.key_value_metadata) {
      w.BeginStruct();
      w.FieldBinary(1, kv.key);
      if (kv.value) w.FieldBinary(2, *kv.value);
      w.EndStruct();
    }
  }
  if (meta.created_by) w.FieldBinary(6, *meta.created_by);
  if (meta.type_defined_column_orders > 0) {
    w.FieldList(7, CT::kStruct, static_cast<uint32_t>(meta.type_defined_column_orders));
    for (int32_t i = 0; i < meta.type_defined_column_orders; ++i) {
      w.BeginStruct();   // ColumnOrder union
      w.FieldStruct(1);  // TYPE_ORDER: TypeDefinedOrder {}
      w.BeginStruct();
      w.EndStruct();
      w.EndStruct();
    }
  }
  w.EndStruct();
}

void SerializePageHeader(const PageHeader& h, std::string* out) {
  CompactWriter w(out);
  w.BeginStruct();
  w.FieldI32(1, static_cast<int32_t>(h.type));
  w.FieldI32(2, h.uncompressed_page_size);
  w.FieldI32(3, h.compressed_page_size);
  if (h.data_page_header) {
    const DataPageHeader& d = *h.data_page_header;
    w.FieldStruct(5);
    w.BeginStruct();
    w.FieldI32(1, d.num_values);
    w.FieldI32(2, static_cast<int32_t>(d.encoding));
    w.FieldI32(3, static_cast<int32_t>(d.definition_level_encoding));
    w.FieldI32(4, static_cast<int32_t>(d.repetition_level_encoding));
    w.EndStruct();
  }
  if (h.dictionary_page_header) {
    w.FieldStruct(7);
    w.BeginStruct();
    w.FieldI32(1, h.dictionary_page_header->num_values);
    w.FieldI32(2, static_cast<int32_t>(h.dictionary_page_header->encoding));
    w.EndStruct();
  }
  w.EndStruct();
}

Result<FileMetaData> ParseFileMetaData(const uint8_t* data, size_t size) {
  CompactReader r(data, size);
  FileMetaData meta;
  r.BeginStruct();
  int16_t id;
  CT type;
  while (r.NextField(&id, &type)) {
    switch (id) {
      case 1:
        meta.version = r.ReadI32();
        break;
      case 2: {
        CT et;
        const uint32_t n = r.ReadListHeader(&et);
        for (uint32_t i = 0; i < n && r.ok(); ++i) meta.schema.push_back(ParseSchemaElement(r));
        break;
      }
      case 3:
        meta.num_rows = r.ReadI64();
        break;
      case 4: {
        CT et;
        const uint32_t n = r.ReadListHeader(&et);
        for (uint32_t i = 0; i < n && r.ok(); ++i) meta.row_groups.push_back(ParseRowGroup(r));
        break;
      }
      case 5: {
        CT et;
        const uint32_t n = r.ReadListHeader(&et);
        for (uint32_t i = 0; i < n && r.ok(); ++i) {
          KeyValue kv;
          r.BeginStruct();
          int16_t kid;
          CT ktype;
          while (r.NextField(&kid, &ktype)) {
            if (kid == 1) {
              kv.key = r.ReadBinary();
            } else if (kid == 2) {
              kv.value = r.ReadBinary();
            } else {
              r.Skip(ktype);
            }
          }
          r.EndStruct();
          meta.key_value_metadata.push_back(std::move(kv));
        }
        break;
      }
      case 6:
        meta.created_by = r.ReadBinary();
        break;
      case 7: {
        CT et;
        const uint32_t n = r.ReadListHeader(&et);
        for (uint32_t i = 0; i < n && r.ok(); ++i) r.Skip(CT::kStruct);
        meta.type_defined_column_orders = static_cast<int32_t>(n);
        break;
      }
      default:
        r.Skip(type);
    }
  }
  r.EndStruct();
  if (!r.ok()) return Status::Corruption("footer: " + r.error());
  return meta;
}

Result<PageHeader> ParsePageHeader(const uint8_t* data, size_t size, size_t* header_size) {
  CompactReader r(data, size);
  PageHeader h;
  r.BeginStruct();
  int16_t id;
  CT type;
  while (r.NextField(&id, &type)) {
    switch (id) {
      case 1:
        h.type = static_cast<PageType>(r.ReadI32());
        break;
      case 2:
        h.uncompressed_page_size = r.ReadI32();
        break;
      case 3:
        h.compressed_page_size = r.ReadI32();
        break;
      case 5: {
        DataPageHeader d;
        r.BeginStruct();
        int16_t did;
        CT dtype;
        while (r.NextField(&did, &dtype)) {
          switch (did) {
            case 1:
              d.num_values = r.ReadI32();
              break;
            case 2:
              d.encoding = static_cast<Encoding>(r.ReadI32());
              break;
            case 3:
              d.definition_level_encoding = static_cast<Encoding>(r.ReadI32());
              break;
            case 4:
              d.repetition_level_encoding = static_cast<Encoding>(r.ReadI32());
              break;
            default:
              r.Skip(dtype);
          }
        }
        r.EndStruct();
        h.data_page_header = d;
        break;
      }
      case 7: {
        DictionaryPageHeader d;
        r.BeginStruct();
        int16_t did;
        CT dtype;
        while (r.NextField(&did, &dtype)) {
          switch (did) {
            case 1:
              d.num_values = r.ReadI32();
              break;
            case 2:
              d.encoding = static_cast<Encoding>(r.ReadI32());
              break;
            default:
              r.Skip(dtype);
          }
        }
        r.EndStruct();
        h.dictionary_page_header = d;
        break;
      }
      case 8: {
        DataPageHeaderV2 d;
        r.BeginStruct();
        int16_t did;
        CT dtype;
        while (r.NextField(&did, &dtype)) {
          switch (did) {
            case 1:
              d.num_values = r.ReadI32();
              break;
            case 2:
              d.num_nulls = r.ReadI32();
              break;
            case 3:
              d.num_rows = r.ReadI32();
              break;
            case 4:
              d.encoding = static_cast<Encoding>(r.ReadI32());
              break;
            case 5:
              d.definition_levels_byte_length = r.ReadI32();
              break;
            case 6:
              d.repetition_levels_byte_length = r.ReadI32();
              break;
            case 7:
              d.is_compressed = CompactReader::BoolFromFieldType(dtype);
              break;
            default:
              r.Skip(dtype);
          }
        }
        r.EndStruct();
        h.data_page_header_v2 = d;
        break;
      }
      default:
        r.Skip(type);
    }
  }
  r.EndStruct();
  if (!r.ok()) return Status::Corruption("page header: " + r.error());
  *header_size = r.position();
  return h;
}

}  // namespace tidemark::lake::pq
