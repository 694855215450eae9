#include "protocol/platform.hpp"

#include <array>

namespace chatd {
namespace {

constexpr std::array<std::string_view, platform_count> platform_names{
    "Web", "Android", "iPhone", "iPad", "Windows", "Mac", "Linux"};

constexpr std::array<std::string_view, 4> policy_names{"single", "dual", "triple", "multi"};

// The group of a platform under a policy; platforms of one group conflict.
int group_of(multi_device_policy policy, platform p) {
  switch (policy) {
    case multi_device_policy::single:
      return 0;
    case multi_device_policy::dual:
      return p == platform::web ? 1 : 0;
    case multi_device_policy::triple:
      if (p == platform::web)
        return 2;
      if (p == platform::android || p == platform::iphone || p == platform::ipad)
        return 0;
      return 1;
    case multi_device_policy::multi:
      return static_cast<int>(p);
  }
  return static_cast<int>(p);
}

}  // namespace

std::optional<platform> parse_platform(std::string_view name) {
  for (std::size_t i = 0; i < platform_names.size(); ++i)
    if (platform_names[i] == name)
      return static_cast<platform>(i);
  return std::nullopt;
}

std::string_view platform_name(platform p) {
  return platform_names[static_cast<std::size_t>(p)];
}

std::optional<multi_device_policy> parse_policy(std::string_view name) {
  for (std::size_t i = 0; i < policy_names.size(); ++i)
    if (policy_names[i] == name)
      return static_cast<multi_device_policy>(i);
  return std::nullopt;
}

std::string_view policy_name(multi_device_policy policy) {
  return policy_names[static_cast<std::size_t>(policy)];
}

bool platforms_conflict(multi_device_policy policy, platform a, platform b) {
  return a != b && group_of(policy, a) == group_of(policy, b);
}

int instance_limit(const login_limits& limits, platform p) {
  return p == platform::web ? limits.max_web_instances : limits.max_devices_per_platform;
}

}  // namespace chatd
