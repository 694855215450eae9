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

std::vector<app_config> configured_apps(std::vector<app_config> file_apps,
                                        const std::vector<login_config_override>& overrides) {
  for (const auto& stored : overrides)
    for (auto& app : file_apps)
      if (app.sdkappid == stored.sdkappid)
        apply_override(app, stored);
  return file_apps;
}

server_backend::server_backend(app_catalog& apps, std::vector<app_config> file_apps,
                               state_store& store, const lockout_config& rules)
    : apps_(apps),
      file_apps_(std::move(file_apps)),
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

// Durable first; then the app as the file and every stored override make
// it (read back, so that a change made meanwhile by another node counts)
// is live for the next login.
void server_backend::change_login_config(const login_config_override& change,
                                         reply<std::shared_ptr<const app_config>> done) {
  auto changed = std::make_shared<app_config>();
  store_.on_store_thread(
      [this, change, changed] {
        store_.save_login_config(change);
        for (const auto& app : configured_apps(file_apps_, store_.login_config_overrides()))
          if (app.sdkappid == change.sdkappid)
            *changed = app;
      },
      [this, changed, done](bool ok) {
        if (!ok || changed->sdkappid == 0)
          return done.fail(ask_error::unavailable);
        apply_login_config(*changed);
        done(changed);
      });
}

void server_backend::set_profile(std::uint32_t sdkappid, const std::string& user_id,
                                 std::vector<profile_field> fields, reply<bool> done) {
  store_.on_store_thread(
      [this, sdkappid, user_id, fields = std::move(fields)] {
        store_.save_profile(sdkappid, user_id, fields);
      },
      [done](bool ok) { ok ? done(true) : done.fail(ask_error::unavailable); });
}

void server_backend::get_profiles(std::uint32_t sdkappid, std::vector<std::string> user_ids,
                                  reply<std::vector<user_profile>> done) {
  if (auto cached = store_.cached_profiles(sdkappid, user_ids))
    return done(std::move(*cached));
  auto read = std::make_shared<std::vector<user_profile>>();
  store_.on_store_thread(
      [this, sdkappid, user_ids = std::move(user_ids), read] {
        *read = store_.profiles(sdkappid, user_ids);
      },
      [done, read](bool ok) { ok ? done(std::move(*read)) : done.fail(ask_error::unavailable); });
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
