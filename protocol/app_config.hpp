// One app's settings, as the login checks and registries see them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/platform.hpp"

namespace chatd {

struct app_config {
  std::uint32_t sdkappid = 0;
  std::string secret_key;
  std::string admin = "administrator";
  login_limits limits;
  std::int64_t package_expire_at_ms = 0;     // 0 = never
  std::vector<std::string> allowed_origins;  // empty = any Origin
  // Timelines (CONTRACT §2c): entries older than this are dropped, and a
  // user's timeline keeps at most this many (oldest dropped first).
  int message_retention_days = 7;
  std::uint32_t max_timeline_messages = 10000;
};

}  // namespace chatd
