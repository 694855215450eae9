#include "server/backend.hpp"

#include <spdlog/spdlog.h>

namespace chatd {
namespace {

std::string lock_key(std::uint32_t sdkappid, const std::string& user_id) {
  return std::to_string(sdkappid) + '\n' + user_id;
}

std::int64_t now_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

void apply_overrides(std::vector<app_config>& apps,
                     const std::vector<login_config_override>& overrides) {
  for (const auto& o : overrides) {
    for (auto& app : apps) {
      if (app.sdkappid != o.sdkappid)
        continue;
      if (o.policy)
        app.limits.policy = *o.policy;
      if (o.max_web_instances)
        app.limits.max_web_instances = *o.max_web_instances;
      if (o.max_devices_per_platform)
        app.limits.max_devices_per_platform = *o.max_devices_per_platform;
      if (o.package_expire_at_ms)
        app.package_expire_at_ms = *o.package_expire_at_ms;
      if (o.allowed_origins)
        app.allowed_origins = *o.allowed_origins;
    }
  }
}

server_backend::server_backend(app_catalog& apps, state_store& store, const lockout_config& rules)
    : apps_(apps),
      store_(store),
      locks_(lockout::rules{rules.max_failures, std::chrono::seconds(rules.window_s),
                            std::chrono::seconds(rules.lock_s)}) {}

std::shared_ptr<const app_config> server_backend::find_app(std::uint32_t sdkappid) {
  return apps_.find(sdkappid);
}

bool server_backend::is_locked(std::uint32_t sdkappid, const std::string& user_id) {
  return locks_.is_locked(lock_key(sdkappid, user_id), lockout::clock::now());
}

void server_backend::record_failure(std::uint32_t sdkappid, const std::string& user_id) {
  locks_.record_failure(lock_key(sdkappid, user_id), lockout::clock::now());
}

std::int64_t server_backend::kick_time_s(std::uint32_t sdkappid, const std::string& user_id) {
  return store_.kick_time(sdkappid, user_id);
}

void server_backend::record_login(std::uint32_t sdkappid, const std::string& user_id) {
  store_.note_account(sdkappid, user_id);
}

bool server_backend::account_known(std::uint32_t sdkappid, const std::string& user_id) {
  return store_.account_known(sdkappid, user_id);
}

void server_backend::import_account(std::uint32_t sdkappid, const std::string& user_id,
                                    reply<bool> done) {
  store_.on_store_thread([this, sdkappid, user_id] { store_.import_account(sdkappid, user_id); },
                         [done](bool ok) { ok ? done(true) : done.fail(ask_error::unavailable); });
}

void server_backend::record_kick(std::uint32_t sdkappid, const std::string& user_id,
                                 reply<std::int64_t> done) {
  const auto t = now_s();
  store_.on_store_thread([this, sdkappid, user_id, t] { store_.record_kick(sdkappid, user_id, t); },
                         [done, t](bool ok) { ok ? done(t) : done.fail(ask_error::unavailable); });
}

void server_backend::change_login_config(const app_config& changed, reply<bool> done) {
  store_.on_store_thread([this, changed] { save_login_config(changed); },
                         [this, changed, done](bool ok) {
                           if (!ok)
                             return done.fail(ask_error::unavailable);
                           apply_login_config(changed);
                           done(true);
                         });
}

void server_backend::save_login_config(const app_config& changed) {
  login_config_override o;
  o.sdkappid = changed.sdkappid;
  o.policy = changed.limits.policy;
  o.max_web_instances = changed.limits.max_web_instances;
  o.max_devices_per_platform = changed.limits.max_devices_per_platform;
  o.package_expire_at_ms = changed.package_expire_at_ms;
  o.allowed_origins = changed.allowed_origins;
  store_.save_login_config(o);
}

// Live for the next login once durable.
void server_backend::apply_login_config(const app_config& changed) {
  apps_.replace(changed);
  spdlog::info(
      "login config of app {} changed: policy={} max_web={} max_devices={} package_expire_at={} "
      "origins={}",
      changed.sdkappid, policy_name(changed.limits.policy), changed.limits.max_web_instances,
      changed.limits.max_devices_per_platform, changed.package_expire_at_ms,
      changed.allowed_origins.size());
}

}  // namespace chatd
