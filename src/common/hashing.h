// Checksums and hashes whose exact bit patterns are contracts: CRC32C (Castagnoli) guards
// log record batches; murmur2 is Kafka's default partitioner hash, so embedded and Kafka
// modes place a key on the same partition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tidemark {

// CRC32C of data, continuing from a previous crc (0 to start). Uses the SSE4.2 crc32
// instruction when the CPU has it, a slicing table otherwise; both give the same value.
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);
inline uint32_t Crc32c(std::string_view s, uint32_t crc = 0) { return Crc32c(s.data(), s.size(), crc); }

// Kafka's murmur2 (seed 0x9747b28c), as in its Java client's Utils.murmur2.
int32_t Murmur2(std::string_view key);
// Kafka's default partitioner: toPositive(murmur2(key)) % partitions.
int KafkaPartition(std::string_view key, int partitions);

// 64-bit xxHash (XXH3) for in-memory hashing (dedup, event ids).
uint64_t Hash64(std::string_view data, uint64_t seed = 0);

// SHA-256 and HMAC-SHA256 as lower-case hex (key storage, PII hashing).
std::string Sha256Hex(std::string_view data);
std::string HmacSha256Hex(std::string_view secret, std::string_view data);
// Constant-time comparison of equal-length strings; false when lengths differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace tidemark
