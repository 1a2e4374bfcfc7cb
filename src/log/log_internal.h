// Rules every Log implementation in this directory applies the same way.
#pragma once

#include <string_view>

namespace tidemark::log::internal {

inline constexpr int kMaxPartitions = 10000;

// 1-200 characters of [A-Za-z0-9._-], not "." or "..": safe as a directory name.
bool ValidTopicName(std::string_view name);

}  // namespace tidemark::log::internal
