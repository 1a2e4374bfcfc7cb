// Content-Encoding decoding for request bodies (identity, gzip, zstd) with a hard bound on
// the decoded size, so a small hostile body (a "zip bomb") cannot grow memory.
#pragma once

#include <string>
#include <string_view>

namespace tidemark::gateway::internal {

struct DecodeOutcome {
  int http_status = 200;  // 200, 400 (malformed/truncated), 413 (too large), 415 (unsupported)
  std::string message;    // why, when http_status != 200
};

// Decodes raw per `content_encoding` (the header value; empty means identity) into *out.
// For identity, raw is moved into *out. Never produces more than max_bytes.
DecodeOutcome DecodeBody(std::string_view content_encoding, std::string&& raw, size_t max_bytes,
                         std::string* out);

}  // namespace tidemark::gateway::internal
