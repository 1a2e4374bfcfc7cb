// A small hand-written user-agent classifier for the browsers, systems and devices that
// make up nearly all telemetry traffic. It answers coarse classes (dashboards group by
// them), not versions; anything unrecognised is "other". No UA database is consulted.
#pragma once

#include <string_view>

namespace tidemark::stream {

struct UserAgentInfo {
  std::string_view browser = "other";       // chrome|safari|firefox|edge|opera|samsung|webview|app|bot|other
  std::string_view os = "other";            // windows|macos|ios|android|linux|chromeos|other
  std::string_view device_class = "other";  // desktop|mobile|tablet|bot|other
};

// Pure function of the string; thread-safe.
UserAgentInfo ParseUserAgent(std::string_view user_agent);

}  // namespace tidemark::stream
