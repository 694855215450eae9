// chatd's durable state behind one interface, so that a cluster backend can
// replace the embedded SQLite store later. Reads are served from memory
// (profiles excepted);
// writes marked "durable" are committed before they return.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/app_config.hpp"
#include "protocol/profile.hpp"

namespace chatd {

class state_store {
 public:
  virtual ~state_store() = default;

  // The user's last REST kick (unix seconds), 0 if never. Durable.
  virtual void record_kick(std::uint32_t sdkappid, const std::string& user_id,
                           std::int64_t kick_time_s) = 0;
  virtual std::int64_t kick_time(std::uint32_t sdkappid, const std::string& user_id) const = 0;

  // Merges `change` into the app's stored override: its set fields are
  // stored, its cleared ones removed, the others kept. Durable.
  virtual void save_login_config(const login_config_override& change) = 0;
  virtual std::vector<login_config_override> login_config_overrides() const = 0;

  // Profiles: the fields set are merged into the stored profile. Durable.
  // Reads are cached: a change by another process shows once its notice
  // arrives (as kicks do), and no cached profile is older than 30 s.
  // save_profile and profiles may read the tables: call them from the
  // store's thread (on_store_thread); cached_profiles answers from memory
  // on any thread, nullopt unless every one of `user_ids` is cached.
  virtual void save_profile(std::uint32_t sdkappid, const std::string& user_id,
                            const std::vector<profile_field>& fields) = 0;
  virtual std::vector<user_profile> profiles(std::uint32_t sdkappid,
                                             const std::vector<std::string>& user_ids) = 0;
  virtual std::optional<std::vector<user_profile>> cached_profiles(
      std::uint32_t sdkappid, const std::vector<std::string>& user_ids) const = 0;

  // Known accounts: every user that ever logged in or was imported.
  // note_account is batched (not durable on return); import_account is durable.
  virtual void note_account(std::uint32_t sdkappid, const std::string& user_id) = 0;
  virtual void import_account(std::uint32_t sdkappid, const std::string& user_id) = 0;
  virtual bool account_known(std::uint32_t sdkappid, const std::string& user_id) const = 0;

  // Runs `write` (one of the durable writes above) on the store's own
  // thread, then `done(ok)` there: request handlers never wait on an fsync.
  virtual void on_store_thread(std::function<void()> write, std::function<void(bool ok)> done) = 0;

  // Commits everything batched so far. On failure the batch stays queued
  // (retried by the next flush) and the error is thrown.
  virtual void flush() = 0;
  // Writes that failed (a full disk, an I/O error) since the store opened.
  virtual std::uint64_t write_failures() const = 0;

  // Changes made by other processes sharing the store (PostgreSQL; with
  // SQLite there is one process): their kicks and accounts are applied to
  // this store's reads as they arrive (well within a second); a changed
  // login config is handed to `changed` (on the store's listening thread)
  // for the caller to apply. Set once, before the changes matter.
  virtual void on_login_config_changed(std::function<void()> changed) = 0;
};

// Opens (creating if needed) `state_dir/chatd.sqlite3` in WAL mode.
// Throws std::runtime_error when it cannot.
std::unique_ptr<state_store> open_sqlite_store(const std::filesystem::path& state_dir);
// Connects to PostgreSQL (a libpq URL, "postgresql://user@host:port/db")
// and creates chatd's tables if needed. Throws std::runtime_error.
std::unique_ptr<state_store> open_postgres_store(const std::string& url);

}  // namespace chatd
