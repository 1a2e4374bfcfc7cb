// PII masking functions; see pii.h. Both run on the ingest path, so the common cases avoid
// per-call setup: HMAC keeps its keyed SHA-256 states per thread (OpenSSL 3's one-shot
// HMAC() fetches the digest and keys it on every call), and IPv4 is parsed and printed by
// hand (inet_ntop formats through printf).
#include "schema/pii.h"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace tidemark::schema {
namespace {

// HMAC-SHA256 (RFC 2104) with the inner and outer keyed states computed once per secret.
class KeyedSha256 {
 public:
  ~KeyedSha256() {
    EVP_MD_CTX_free(inner_);
    EVP_MD_CTX_free(outer_);
    EVP_MD_CTX_free(work_);
  }
  bool Rekey(std::string_view secret) {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!md) return false;
    if (!inner_) {
      inner_ = EVP_MD_CTX_new();
      outer_ = EVP_MD_CTX_new();
      work_ = EVP_MD_CTX_new();
    }
    unsigned char key[64] = {};
    if (secret.size() > sizeof key) {
      unsigned int len = 0;
      EVP_Digest(secret.data(), secret.size(), key, &len, md, nullptr);
    } else {
      std::memcpy(key, secret.data(), secret.size());
    }
    unsigned char ipad[64], opad[64];
    for (int i = 0; i < 64; ++i) {
      ipad[i] = key[i] ^ 0x36;
      opad[i] = key[i] ^ 0x5c;
    }
    bool ok = EVP_DigestInit_ex(inner_, md, nullptr) && EVP_DigestUpdate(inner_, ipad, 64) &&
              EVP_DigestInit_ex(outer_, md, nullptr) && EVP_DigestUpdate(outer_, opad, 64);
    secret_ = ok ? std::string(secret) : std::string();
    keyed_ = ok;
    return ok;
  }
  bool keyed_for(std::string_view secret) const { return keyed_ && secret_ == secret; }
  bool Mac(std::string_view data, unsigned char out[32]) {
    unsigned char inner_digest[32];
    unsigned int len = 0;
    return EVP_MD_CTX_copy_ex(work_, inner_) && EVP_DigestUpdate(work_, data.data(), data.size()) &&
           EVP_DigestFinal_ex(work_, inner_digest, &len) && EVP_MD_CTX_copy_ex(work_, outer_) &&
           EVP_DigestUpdate(work_, inner_digest, sizeof inner_digest) &&
           EVP_DigestFinal_ex(work_, out, &len);
  }

 private:
  EVP_MD_CTX* inner_ = nullptr;
  EVP_MD_CTX* outer_ = nullptr;
  EVP_MD_CTX* work_ = nullptr;
  std::string secret_;
  bool keyed_ = false;
};

// "a.b.c.d" with each part 0..255 and no leading zeros.
bool ParseIpv4(std::string_view ip, unsigned char octets[4]) {
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (pos >= ip.size() || ip[pos] != '.') return false;
      ++pos;
    }
    size_t start = pos;
    unsigned value = 0;
    while (pos < ip.size() && ip[pos] >= '0' && ip[pos] <= '9' && pos - start < 3) {
      value = value * 10 + static_cast<unsigned>(ip[pos] - '0');
      ++pos;
    }
    size_t digits = pos - start;
    if (digits == 0 || value > 255 || (digits > 1 && ip[start] == '0')) return false;
    octets[i] = static_cast<unsigned char>(value);
  }
  return pos == ip.size();
}

}  // namespace

std::string HashPiiValue(std::string_view secret, std::string_view value) {
  thread_local KeyedSha256 hmac;
  unsigned char digest[32];
  if ((!hmac.keyed_for(secret) && !hmac.Rekey(secret)) || !hmac.Mac(value, digest)) {
    return std::string(64, '0');  // unreachable with a working libcrypto; never the raw value
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '\0');
  for (int i = 0; i < 32; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

Result<std::string> TruncateIp(std::string_view ip) {
  unsigned char octets[4];
  if (ParseIpv4(ip, octets)) {
    std::string out;
    out.reserve(16);
    char buf[4];
    for (int i = 0; i < 3; ++i) {
      auto r = std::to_chars(buf, buf + sizeof buf, static_cast<unsigned>(octets[i]));
      out.append(buf, r.ptr);
      out.push_back('.');
    }
    out.push_back('0');
    return out;
  }
  char text[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof text) {
    return Status::InvalidArgument(fmt::format("'{}' is not an IP address", ip.substr(0, 64)));
  }
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';
  in6_addr v6;
  if (inet_pton(AF_INET6, text, &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      v6.s6_addr[15] = 0;
    } else {
      std::memset(v6.s6_addr + 6, 0, 10);
    }
    char out[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &v6, out, sizeof out);
    return std::string(out);
  }
  return Status::InvalidArgument(fmt::format("'{}' is not an IP address", ip.substr(0, 64)));
}

Result<std::string> MaskPiiValue(PiiAction action, std::string_view secret, std::string_view value) {
  switch (action) {
    case PiiAction::kHash:
      if (secret.empty()) return Status::FailedPrecondition("pii 'hash' needs a configured secret");
      return HashPiiValue(secret, value);
    case PiiAction::kRedact:
      return std::string(kRedactedValue);
    case PiiAction::kTruncateIp: {
      Result<std::string> ip = TruncateIp(value);
      if (!ip.ok()) return Status::InvalidArgument("truncate_ip: " + ip.status().message());
      return ip;
    }
    case PiiAction::kNone:
    case PiiAction::kDrop:
      break;
  }
  return Status::InvalidArgument(fmt::format("pii '{}' has no masked string form", PiiActionName(action)));
}

}  // namespace tidemark::schema
