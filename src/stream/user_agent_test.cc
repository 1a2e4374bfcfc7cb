#include "stream/user_agent.h"

#include <gtest/gtest.h>

namespace tidemark::stream {
namespace {

struct Case {
  const char* ua;
  const char* browser;
  const char* os;
  const char* device;
};

TEST(UserAgent, ClassifiesCommonAgents) {
  const Case cases[] = {
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", "chrome", "windows", "desktop"},
      {"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", "safari", "macos", "desktop"},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "webview", "ios", "mobile"},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "safari", "ios", "mobile"},
      {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", "chrome", "android", "mobile"},
      {"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "chrome", "android", "tablet"},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0", "edge", "windows", "desktop"},
      {"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "firefox", "linux", "desktop"},
      {"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0 Mobile/15E148 Safari/604.1", "chrome", "ios", "tablet"},
      {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "other", "bot"},
      {"okhttp/4.12.0", "app", "other", "other"},
      {"", "other", "other", "other"},
  };
  for (const Case& c : cases) {
    UserAgentInfo info = ParseUserAgent(c.ua);
    EXPECT_EQ(info.browser, c.browser) << c.ua;
    EXPECT_EQ(info.os, c.os) << c.ua;
    EXPECT_EQ(info.device_class, c.device) << c.ua;
  }
}

}  // namespace
}  // namespace tidemark::stream
