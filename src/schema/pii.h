// PII masking applied while an event is encoded, as a field's "pii" annotation asks:
// hash (HMAC-SHA256 under a configured secret, so equal inputs still join), truncate_ip
// (IPv4 to its /24, IPv6 to its /48), redact (a fixed marker) and drop (null or default,
// handled by the encoder). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "schema/avro.h"

namespace tidemark::schema {

inline constexpr std::string_view kRedactedValue = "[REDACTED]";

// Lower-case hex HMAC-SHA256 of value under secret.
std::string HashPiiValue(std::string_view secret, std::string_view value);

// "203.0.113.77" → "203.0.113.0"; "2001:db8:abcd:12::1" → "2001:db8:abcd::";
// an IPv4-mapped IPv6 address keeps its form and loses its last octet.
// InvalidArgument when `ip` is not a literal IPv4 or IPv6 address.
Result<std::string> TruncateIp(std::string_view ip);

// The stored form of `value` under a string action (hash, redact, truncate_ip).
// FailedPrecondition: hash without a secret (hashing never silently uses no key);
// InvalidArgument: truncate_ip of something that is not an IP, or an action that has no
// string form (none, drop).
Result<std::string> MaskPiiValue(PiiAction action, std::string_view secret, std::string_view value);

}  // namespace tidemark::schema
