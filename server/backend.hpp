// The server's implementation of what the gateway needs: the app catalog,
// the durable store and the brute-force lock, behind gateway_backend.
#pragma once

#include "gateway/gateway_context.hpp"
#include "server/app_catalog.hpp"
#include "server/config.hpp"
#include "server/lockout.hpp"
#include "store/state_store.hpp"

namespace chatd {

// Applies stored REST overrides on top of the config file's apps.
void apply_overrides(std::vector<app_config>& apps,
                     const std::vector<login_config_override>& overrides);

class server_backend final : public gateway_backend {
 public:
  server_backend(app_catalog& apps, state_store& store, const lockout_config& lock_rules);

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
  void change_login_config(const app_config& changed, reply<bool> done) override;

 private:
  void save_login_config(const app_config& changed);
  void apply_login_config(const app_config& changed);

  app_catalog& apps_;
  state_store& store_;
  lockout locks_;
};

}  // namespace chatd
