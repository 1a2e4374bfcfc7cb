#include "gateway/http_codec_internal.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace tidemark::gateway::internal {
namespace {

constexpr size_t kChunk = 64 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Trim surrounding spaces.
  size_t b = out.find_first_not_of(" \t");
  size_t e = out.find_last_not_of(" \t");
  return b == std::string::npos ? "" : out.substr(b, e - b + 1);
}

DecodeOutcome TooLarge(size_t max_bytes) {
  return {413, "decoded body exceeds " + std::to_string(max_bytes) + " bytes"};
}

// Grows *out for the next write, never past max_bytes + 1 (one byte over proves "too big").
bool Grow(std::string* out, size_t used, size_t max_bytes) {
  if (used > max_bytes) return false;
  size_t want = std::min(max_bytes + 1, std::max(used + kChunk, used * 2));
  out->resize(want);
  return true;
}

DecodeOutcome Gunzip(std::string_view in, size_t max_bytes, std::string* out) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return {503, "gzip: cannot allocate a decoder"};
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  size_t used = 0;
  out->clear();
  Grow(out, 0, std::min(max_bytes, std::max(in.size() * 4, kChunk)));
  for (;;) {
    if (used == out->size() && !Grow(out, used, max_bytes)) return TooLarge(max_bytes);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    zs.avail_out = static_cast<uInt>(out->size() - used);
    int rc = inflate(&zs, Z_NO_FLUSH);
    used = out->size() - zs.avail_out;
    if (used > max_bytes) return TooLarge(max_bytes);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Concatenated gzip members are one body (RFC 1952); anything else is garbage.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      return {400, "gzip body has " + std::to_string(zs.avail_in) + " bytes of trailing garbage"};
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      if (zs.avail_in == 0) return {400, "gzip body is truncated (the stream ends early)"};
      continue;  // needs more output space
    }
    if (rc == Z_MEM_ERROR) return {503, "gzip: out of memory"};
    return {400, std::string("gzip body is malformed: ") + (zs.msg ? zs.msg : "data error")};
  }
  out->resize(used);
  return {};
}

DecodeOutcome Unzstd(std::string_view in, size_t max_bytes, std::string* out) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return {503, "zstd: cannot allocate a decoder"};
  // Bound the decoder's window memory: a frame may not ask for more than 16 MiB.
  ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, 24);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t used = 0;
  size_t last = 1;  // nonzero: frame not finished
  out->clear();
  Grow(out, 0, std::min(max_bytes, std::max(in.size() * 4, kChunk)));
  if (in.empty()) return {400, "zstd body is empty"};
  while (input.pos < input.size || last != 0) {
    if (used == out->size() && !Grow(out, used, max_bytes)) return TooLarge(max_bytes);
    ZSTD_outBuffer output{out->data(), out->size(), used};
    size_t before_in = input.pos;
    last = ZSTD_decompressStream(dctx.get(), &output, &input);
    if (ZSTD_isError(last)) {
      return {400, std::string("zstd body is malformed: ") + ZSTD_getErrorName(last)};
    }
    bool progressed = output.pos != used || input.pos != before_in;
    used = output.pos;
    if (used > max_bytes) return TooLarge(max_bytes);
    if (last != 0 && input.pos == input.size && output.pos < output.size) {
      return {400, "zstd body is truncated (the frame ends early)"};
    }
    if (!progressed && output.pos < output.size) {
      return {400, "zstd body is truncated (the frame ends early)"};
    }
  }
  out->resize(used);
  return {};
}

}  // namespace

DecodeOutcome DecodeBody(std::string_view content_encoding, std::string&& raw, size_t max_bytes,
                         std::string* out) {
  std::string enc = Lower(content_encoding);
  if (enc.empty() || enc == "identity") {
    if (raw.size() > max_bytes) return TooLarge(max_bytes);
    *out = std::move(raw);
    return {};
  }
  if (enc == "gzip" || enc == "x-gzip") return Gunzip(raw, max_bytes, out);
  if (enc == "zstd") return Unzstd(raw, max_bytes, out);
  return {415, "Content-Encoding '" + std::string(content_encoding) +
                   "' is not supported (identity, gzip, zstd)"};
}

}  // namespace tidemark::gateway::internal
