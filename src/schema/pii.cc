// PII masking functions; see pii.h.
#include "schema/pii.h"

#include <arpa/inet.h>

#include <cstring>

#include <fmt/format.h>

#include "common/hashing.h"

namespace tidemark::schema {

std::string HashPiiValue(std::string_view secret, std::string_view value) {
  return HmacSha256Hex(secret, value);
}

Result<std::string> TruncateIp(std::string_view ip) {
  char text[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof text) {
    return Status::InvalidArgument(fmt::format("'{}' is not an IP address", ip.substr(0, 64)));
  }
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';
  char out[INET6_ADDRSTRLEN];
  in_addr v4;
  if (inet_pton(AF_INET, text, &v4) == 1) {
    reinterpret_cast<unsigned char*>(&v4.s_addr)[3] = 0;
    inet_ntop(AF_INET, &v4, out, sizeof out);
    return std::string(out);
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text, &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      v6.s6_addr[15] = 0;
    } else {
      std::memset(v6.s6_addr + 6, 0, 10);
    }
    inet_ntop(AF_INET6, &v6, out, sizeof out);
    return std::string(out);
  }
  return Status::InvalidArgument(fmt::format("'{}' is not an IP address", ip.substr(0, 64)));
}

}  // namespace tidemark::schema
