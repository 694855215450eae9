// The server's implementation of what the gateway needs: the app catalog,
// the durable store and the brute-force lock, behind gateway_backend.
#pragma once

#include "gateway/gateway_context.hpp"
#include "server/app_catalog.hpp"
#include "server/config.hpp"
#include "server/lockout.hpp"
#include "store/state_store.hpp"

namespace chatd {

// The config file's apps with the stored REST overrides on top.
std::vector<app_config> configured_apps(std::vector<app_config> file_apps,
                                        const std::vector<login_config_override>& overrides);

class server_backend final : public gateway_backend {
 public:
  // `file_apps`: the apps as the config file has them (what a cleared
  // override falls back to).
  server_backend(app_catalog& apps, std::vector<app_config> file_apps, state_store& store,
                 const lockout_config& lock_rules);

  std::shared_ptr<const app_config> find_app(std::uint32_t sdkappid) override;
  bool is_locked(std::uint32_t sdkappid, const std::string& user_id) override;
  void record_failure(std::uint32_t sdkappid, const std::string& user_id) override;
  std::int64_t kick_time_s(std::uint32_t sdkappid, const std::string& user_id) override;
  void record_login(std::uint32_t sdkappid, const std::string& user_id) override;
  bool account_known(std::uint32_t sdkappid, const std::string& user_id) override;
  void import_account(std::uint32_t sdkappid, const std::string& user_id,
                      reply<bool> done) override;
  void record_kick(std::uint32_t sdkappid, const std::string& user_id,
                   reply<std::int64_t> done) override;
  void change_login_config(const login_config_override& change,
                           reply<std::shared_ptr<const app_config>> done) override;
  void set_profile(std::uint32_t sdkappid, const std::string& user_id,
                   std::vector<profile_field> fields, reply<bool> done) override;
  void get_profiles(std::uint32_t sdkappid, std::vector<std::string> user_ids,
                    reply<std::vector<user_profile>> done) override;

 private:
  void apply_login_config(const app_config& changed);

  app_catalog& apps_;
  const std::vector<app_config> file_apps_;
  state_store& store_;
  lockout locks_;
};

}  // namespace chatd
