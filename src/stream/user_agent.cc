#include "stream/user_agent.h"

namespace tidemark::stream {
namespace {

bool Has(std::string_view s, std::string_view needle) { return s.find(needle) != std::string_view::npos; }

}  // namespace

UserAgentInfo ParseUserAgent(std::string_view ua) {
  UserAgentInfo info;
  if (ua.empty()) return info;
  // Crawlers first: they often also claim to be a desktop browser.
  if (Has(ua, "bot") || Has(ua, "Bot") || Has(ua, "spider") || Has(ua, "crawl") || Has(ua, "Crawl")) {
    info.browser = "bot";
    info.device_class = "bot";
    return info;
  }
  // Operating system. iPadOS 13+ Safari claims to be a Mac; "Mobile/" without iPhone gives
  // it away only in apps, so those iPads count as macOS desktops, as most analytics do.
  const bool ipad = Has(ua, "iPad");
  const bool iphone = Has(ua, "iPhone") || Has(ua, "iPod");
  const bool android = Has(ua, "Android");
  if (iphone || ipad) {
    info.os = "ios";
  } else if (android) {
    info.os = "android";
  } else if (Has(ua, "Windows")) {
    info.os = "windows";
  } else if (Has(ua, "CrOS")) {
    info.os = "chromeos";
  } else if (Has(ua, "Mac OS X") || Has(ua, "Macintosh")) {
    info.os = "macos";
  } else if (Has(ua, "Linux") || Has(ua, "X11")) {
    info.os = "linux";
  }
  // Device class.
  if (ipad || Has(ua, "Tablet") || (android && !Has(ua, "Mobile"))) {
    info.device_class = "tablet";
  } else if (iphone || android || Has(ua, "Mobi")) {
    info.device_class = "mobile";
  } else if (Has(ua, "Mozilla/")) {
    info.device_class = "desktop";
  }
  // Browser: the order matters, since Chromium forks also say Chrome and Safari.
  if (Has(ua, "Edg/") || Has(ua, "EdgA/") || Has(ua, "EdgiOS/")) {
    info.browser = "edge";
  } else if (Has(ua, "OPR/") || Has(ua, "Opera")) {
    info.browser = "opera";
  } else if (Has(ua, "SamsungBrowser/")) {
    info.browser = "samsung";
  } else if (Has(ua, "Firefox/") || Has(ua, "FxiOS/")) {
    info.browser = "firefox";
  } else if (Has(ua, "CriOS/") || Has(ua, "Chrome/")) {
    // Android WebViews carry "; wv)" in the platform part.
    info.browser = Has(ua, "; wv)") ? "webview" : "chrome";
  } else if (Has(ua, "Safari/") && Has(ua, "Version/")) {
    info.browser = "safari";
  } else if (Has(ua, "AppleWebKit/") && (iphone || ipad)) {
    info.browser = "webview";  // WKWebView inside an app: WebKit without Safari/
  } else if (!Has(ua, "Mozilla/")) {
    info.browser = "app";  // okhttp/4.12, CFNetwork, curl, Go-http-client, ...
  }
  return info;
}

}  // namespace tidemark::stream
