// One app's settings, as the login checks and registries see them.
#pragma once

#include <cstdint>
#include <optional>
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
  // A sender may revoke a message this long after sending it (Tencent's
  // default: 2 minutes); REST admin_msgwithdraw has no limit.
  int message_revoke_window_s = 120;
};

// The login settings an operator changed at run time (REST), stored per
// field: a set field overrides the config file's value from then on; a
// field never set, or cleared, follows the file.
struct login_config_override {
  std::uint32_t sdkappid = 0;
  std::optional<multi_device_policy> policy;
  std::optional<int> max_web_instances;
  std::optional<int> max_devices_per_platform;
  std::optional<std::int64_t> package_expire_at_ms;
  std::optional<std::vector<std::string>> allowed_origins;

  // In a change: the fields whose stored override is removed (bits of
  // login_config_field). A field is either set or cleared, never both.
  std::uint8_t cleared = 0;
};

enum login_config_field : std::uint8_t {
  policy_field = 1,
  max_web_instances_field = 2,
  max_devices_per_platform_field = 4,
  package_expire_at_field = 8,
  allowed_origins_field = 16,
};

// The file's app with the stored override's set fields on top.
void apply_override(app_config& app, const login_config_override& stored);

}  // namespace chatd
