// Platforms and the multi-device policy of CONTRACT §3, as plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace chatd {

enum class platform : std::uint8_t { web, android, iphone, ipad, windows, mac, linux_pc };
inline constexpr int platform_count = 7;

std::optional<platform> parse_platform(std::string_view name);
std::string_view platform_name(platform p);

enum class multi_device_policy : std::uint8_t { single, dual, triple, multi };

std::optional<multi_device_policy> parse_policy(std::string_view name);
std::string_view policy_name(multi_device_policy policy);

// The per-app rule a registry applies to one login.
struct login_limits {
  multi_device_policy policy = multi_device_policy::dual;
  int max_web_instances = 1;         // 1..10
  int max_devices_per_platform = 1;  // 1..3
};

inline constexpr int max_web_instances_limit = 10;
inline constexpr int max_devices_per_platform_limit = 3;

// True when a and b are different platforms that may not be online together.
bool platforms_conflict(multi_device_policy policy, platform a, platform b);

// How many instances of p may be online at once.
int instance_limit(const login_limits& limits, platform p);

}  // namespace chatd
