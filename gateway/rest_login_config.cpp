// The admin REST commands of the live login config (chatd's own, not
// Tencent's): chatd_admin/get_login_config and set_login_config.
#include <algorithm>
#include <array>

#include "gateway/actor_ask.hpp"
#include "gateway/rest_call.hpp"

namespace chatd {
namespace {

namespace asio = boost::asio;

// Durable, on the store's thread. A plain function, not a coroutine: the
// captures live here, not in a coroutine frame.
asio::awaitable<outcome<std::shared_ptr<const app_config>>> durable_config(
    gateway_backend& backend, login_config_override change) {
  return ask<std::shared_ptr<const app_config>>(
      [&backend, change](reply<std::shared_ptr<const app_config>> done) {
        backend.change_login_config(change, std::move(done));
      });
}

json::object login_config_of(const app_config& app) {
  json::array origins;
  for (const auto& o : app.allowed_origins)
    origins.emplace_back(o);
  return {{"MultiDevicePolicy", policy_name(app.limits.policy)},
          {"MaxWebInstances", app.limits.max_web_instances},
          {"MaxDevicesPerPlatform", app.limits.max_devices_per_platform},
          {"PackageExpireAt", app.package_expire_at_ms},
          {"AllowedOrigins", std::move(origins)}};
}

std::optional<std::int64_t> integer_in(const json::value& v, std::int64_t lo, std::int64_t hi) {
  std::int64_t n = 0;
  if (v.is_int64())
    n = v.get_int64();
  else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    n = static_cast<std::int64_t>(v.get_uint64());
  else
    return std::nullopt;
  if (n < lo || n > hi)
    return std::nullopt;
  return n;
}

// Reads one field of set_login_config into `change`: a value overrides the
// file's, null clears the override (the file's value applies again). An
// error text when it is invalid.
std::optional<std::string> read_field(login_config_override& change, std::string_view key,
                                      const json::value& v) {
  struct field {
    std::string_view name;
    login_config_field bit;
  };
  static constexpr std::array fields{
      field{"MultiDevicePolicy", policy_field},
      field{"MaxWebInstances", max_web_instances_field},
      field{"MaxDevicesPerPlatform", max_devices_per_platform_field},
      field{"PackageExpireAt", package_expire_at_field},
      field{"AllowedOrigins", allowed_origins_field},
  };
  const auto* known =
      std::find_if(fields.begin(), fields.end(), [key](const field& f) { return f.name == key; });
  if (known == fields.end())
    return "unknown field " + std::string(key);
  if (v.is_null()) {
    change.cleared |= known->bit;
    return std::nullopt;
  }
  switch (known->bit) {
    case policy_field:
      change.policy = v.is_string() ? parse_policy(v.get_string()) : std::nullopt;
      if (!change.policy)
        return "MultiDevicePolicy must be single, dual, triple or multi (or null)";
      break;
    case max_web_instances_field:
      if (auto n = integer_in(v, 1, max_web_instances_limit))
        change.max_web_instances = static_cast<int>(*n);
      else
        return "MaxWebInstances must be an integer in 1..10 (or null)";
      break;
    case max_devices_per_platform_field:
      if (auto n = integer_in(v, 1, max_devices_per_platform_limit))
        change.max_devices_per_platform = static_cast<int>(*n);
      else
        return "MaxDevicesPerPlatform must be an integer in 1..3 (or null)";
      break;
    case package_expire_at_field:
      change.package_expire_at_ms = integer_in(v, 0, INT64_MAX);
      if (!change.package_expire_at_ms)
        return "PackageExpireAt must be ms since epoch, 0 = never (or null)";
      break;
    case allowed_origins_field: {
      auto* list = v.if_array();
      std::vector<std::string> origins;
      for (std::size_t i = 0; list != nullptr && i < list->size(); ++i)
        if ((*list)[i].is_string())
          origins.emplace_back((*list)[i].get_string());
      if (list == nullptr || origins.size() != list->size())
        return "AllowedOrigins must be an array of strings (or null)";
      change.allowed_origins = std::move(origins);
      break;
    }
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<rest_result> rest_get_login_config(rest_call& call) {
  co_return rest_result{errc::ok, {}, login_config_of(*call.app)};
}

asio::awaitable<rest_result> rest_set_login_config(rest_call& call) {
  login_config_override change;
  change.sdkappid = call.app->sdkappid;
  for (const auto& [key, value] : call.body)
    if (auto problem = read_field(change, key, value))
      co_return fail(errc::invalid_rest_parameter, *problem);
  const auto saved = co_await durable_config(call.context->backend, std::move(change));
  if (!saved.ok())
    co_return store_failed();
  co_return rest_result{errc::ok, {}, login_config_of(*saved.value)};
}

}  // namespace chatd
