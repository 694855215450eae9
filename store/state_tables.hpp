// Internal to store/: the durable tables under a state_store, one
// implementation per database (SQLite, PostgreSQL). cached_state_store.cpp
// holds everything else (the in-memory reads, the batching, the store's
// thread) once for both, and calls a state_tables from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/state_store.hpp"

namespace chatd {

using account_ref = std::pair<std::uint32_t, std::string>;  // (sdkappid, user_id)

// What another process changed in the shared tables.
class state_watcher {
 public:
  virtual ~state_watcher() = default;
  virtual void kicked(std::uint32_t sdkappid, const std::string& user_id,
                      std::int64_t kick_time_s) = 0;
  virtual void accounts_added(const std::vector<account_ref>& accounts) = 0;
  virtual void profile_changed(std::uint32_t sdkappid, const std::string& user_id) = 0;
  virtual void login_config_changed() = 0;
  // Changes may have been missed (the listening connection was lost):
  // everything is read again.
  virtual void resync() = 0;
};

class state_tables {
 public:
  virtual ~state_tables() = default;

  // Starts telling `watcher` (from a thread of the tables') what other
  // processes change; a no-op for a store no other process shares.
  virtual void watch(state_watcher& watcher) = 0;
  // Stops telling the watcher; when it returns, no call to it is running.
  virtual void unwatch() = 0;

  // Each write is committed (durable) before it returns, or throws.
  virtual void write_kick(std::uint32_t sdkappid, const std::string& user_id,
                          std::int64_t kick_time_s) = 0;
  // Merges the set fields of `change` into the app's stored override.
  virtual void write_login_config(const login_config_override& change) = 0;
  // One transaction; accounts already stored are left alone.
  virtual void write_accounts(const std::vector<account_ref>& accounts) = 0;

  // Sets these fields of the user's profile (others kept), in one transaction.
  virtual void write_profile(std::uint32_t sdkappid, const std::string& user_id,
                             const std::vector<profile_field>& fields) = 0;
  // The stored profiles of these users, in their order (empty: none stored).
  virtual std::vector<user_profile> read_profiles(std::uint32_t sdkappid,
                                                  const std::vector<std::string>& user_ids) = 0;

  virtual std::vector<login_config_override> read_login_configs() = 0;
  virtual void read_kicks(
      const std::function<void(std::uint32_t, const std::string&, std::int64_t)>& each) = 0;
  virtual void read_accounts(
      const std::function<void(std::uint32_t, const std::string&)>& each) = 0;
};

// A state_store over `tables`: reads from memory, loaded at open.
std::unique_ptr<state_store> make_cached_state_store(std::unique_ptr<state_tables> tables);

// The allowed origins as stored (a JSON array), and back.
std::optional<std::string> origins_to_json(const std::optional<std::vector<std::string>>& origins);
std::vector<std::string> origins_from_json(const std::string& text);

}  // namespace chatd
