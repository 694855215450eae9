#include "protocol/app_config.hpp"

namespace chatd {

void apply_override(app_config& app, const login_config_override& stored) {
  if (stored.policy)
    app.limits.policy = *stored.policy;
  if (stored.max_web_instances)
    app.limits.max_web_instances = *stored.max_web_instances;
  if (stored.max_devices_per_platform)
    app.limits.max_devices_per_platform = *stored.max_devices_per_platform;
  if (stored.package_expire_at_ms)
    app.package_expire_at_ms = *stored.package_expire_at_ms;
  if (stored.allowed_origins)
    app.allowed_origins = *stored.allowed_origins;
}

}  // namespace chatd
