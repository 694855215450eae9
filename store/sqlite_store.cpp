// The embedded store's tables: one SQLite database in WAL mode with
// synchronous=FULL, so a write acknowledged to a REST caller survives
// kill -9 and power loss. cached_state_store.cpp does the rest.
//
// The sqlite3 C API is wrapped by hand (store/sqlite_util.hpp): the allowed
// Debian packages carry no C++ wrapper for SQLite.
#include <sqlite3.h>

#include <stdexcept>
#include <unordered_map>

#include <boost/json.hpp>

#include "store/sqlite_util.hpp"
#include "store/state_tables.hpp"

namespace chatd {
namespace {

using sqlite::exec_sql;
using sqlite::statement;
using sqlite::transaction;

constexpr const char* schema = R"sql(
  PRAGMA journal_mode=WAL;
  PRAGMA synchronous=FULL;
  CREATE TABLE IF NOT EXISTS kicks (
    sdkappid INTEGER NOT NULL, user_id TEXT NOT NULL, kick_time INTEGER NOT NULL,
    PRIMARY KEY (sdkappid, user_id)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS accounts (
    sdkappid INTEGER NOT NULL, user_id TEXT NOT NULL,
    PRIMARY KEY (sdkappid, user_id)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS login_config (
    sdkappid INTEGER PRIMARY KEY, policy TEXT, max_web_instances INTEGER,
    max_devices_per_platform INTEGER, package_expire_at INTEGER, allowed_origins TEXT);
  CREATE TABLE IF NOT EXISTS profiles (
    sdkappid INTEGER NOT NULL, user_id TEXT NOT NULL, tag TEXT NOT NULL,
    text_value TEXT, number_value INTEGER,
    PRIMARY KEY (sdkappid, user_id, tag)) WITHOUT ROWID;
)sql";

std::optional<std::int64_t> widen(const std::optional<int>& v) {
  return v ? std::optional<std::int64_t>(*v) : std::nullopt;
}

// ["a","b"]: IDs as a JSON array, for json_each.
std::string json_array_of(const std::vector<std::string>& items) {
  boost::json::array array;
  for (const auto& item : items)
    array.emplace_back(item);
  return boost::json::serialize(array);
}

class sqlite_state_tables final : public state_tables {
 public:
  explicit sqlite_state_tables(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    db_ = sqlite::open_connection((dir / "chatd.sqlite3").string(), 5000);
    exec_sql(db_, schema);
  }

  ~sqlite_state_tables() override { sqlite3_close(db_); }

  // One process owns the file: nobody else changes it.
  void watch(state_watcher&) override {}
  void unwatch() override {}

  void write_kick(std::uint32_t sdkappid, const std::string& user_id, std::int64_t t) override {
    statement(db_, "INSERT INTO kicks VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET kick_time = ?3")
        .bind(1, sdkappid)
        .bind(2, user_id)
        .bind(3, t)
        .run();
  }

  void write_login_config(const login_config_override& c) override {
    std::optional<std::string> policy;
    if (c.policy)
      policy = std::string(policy_name(*c.policy));
    statement(db_, R"sql(
      INSERT INTO login_config VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET
        policy = IIF(?7 & 1, NULL, COALESCE(?2, policy)),
        max_web_instances = IIF(?7 & 2, NULL, COALESCE(?3, max_web_instances)),
        max_devices_per_platform = IIF(?7 & 4, NULL, COALESCE(?4, max_devices_per_platform)),
        package_expire_at = IIF(?7 & 8, NULL, COALESCE(?5, package_expire_at)),
        allowed_origins = IIF(?7 & 16, NULL, COALESCE(?6, allowed_origins)))sql")
        .bind(1, c.sdkappid)
        .bind(2, policy)
        .bind(3, widen(c.max_web_instances))
        .bind(4, widen(c.max_devices_per_platform))
        .bind(5, c.package_expire_at_ms)
        .bind(6, origins_to_json(c.allowed_origins))
        .bind(7, static_cast<std::int64_t>(c.cleared))
        .run();
  }

  void write_accounts(const std::vector<account_ref>& accounts) override {
    transaction tx(db_);
    statement insert(db_, "INSERT OR IGNORE INTO accounts VALUES (?1, ?2)");  // prepared once
    for (const auto& [app, user] : accounts)
      insert.bind(1, app).bind(2, user).run();
    tx.commit();
  }

  // A field is a text or a number: the other column is NULL.
  void write_profile(std::uint32_t sdkappid, const std::string& user_id,
                     const std::vector<profile_field>& fields) override {
    transaction tx(db_);
    statement upsert(db_,
                     "INSERT INTO profiles VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET "
                     "text_value = ?4, number_value = ?5");
    for (const auto& field : fields) {
      const auto* text = std::get_if<std::string>(&field.value);
      upsert.bind(1, sdkappid)
          .bind(2, user_id)
          .bind(3, field.tag)
          .bind(4, text ? std::optional<std::string_view>(*text) : std::nullopt)
          .bind(5, text ? std::nullopt
                        : std::optional<std::int64_t>(
                              static_cast<std::int64_t>(std::get<std::uint64_t>(field.value))))
          .run();
    }
    tx.commit();
  }

  // One statement for every user (a JSON array of their IDs): a statement
  // per user cost more in its setup than in its reads.
  std::vector<user_profile> read_profiles(std::uint32_t sdkappid,
                                          const std::vector<std::string>& user_ids) override {
    std::vector<user_profile> out(user_ids.size());
    if (user_ids.empty())
      return out;
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < user_ids.size(); ++i)
      index.emplace(user_ids[i], i);
    statement select(db_,
                     "SELECT user_id, tag, text_value, number_value FROM profiles "
                     "WHERE sdkappid = ?1 AND user_id IN (SELECT value FROM json_each(?2)) "
                     "ORDER BY user_id, tag");
    select.bind(1, sdkappid).bind(2, json_array_of(user_ids));
    while (select.step()) {
      const auto it = index.find(select.text(0));
      if (it == index.end())
        continue;
      out[it->second].push_back(
          {select.text(1), select.is_null(2)
                               ? profile_value{static_cast<std::uint64_t>(select.integer(3))}
                               : profile_value{select.text(2)}});
    }
    // Users asked twice get the same profile.
    for (std::size_t i = 0; i < user_ids.size(); ++i)
      if (const auto first = index.at(user_ids[i]); first != i)
        out[i] = out[first];
    return out;
  }

  std::vector<login_config_override> read_login_configs() override {
    std::vector<login_config_override> out;
    statement s(db_, "SELECT * FROM login_config");
    while (s.step()) {
      login_config_override c;
      c.sdkappid = static_cast<std::uint32_t>(s.integer(0));
      if (!s.is_null(1))
        c.policy = parse_policy(s.text(1));
      if (!s.is_null(2))
        c.max_web_instances = static_cast<int>(s.integer(2));
      if (!s.is_null(3))
        c.max_devices_per_platform = static_cast<int>(s.integer(3));
      if (!s.is_null(4))
        c.package_expire_at_ms = s.integer(4);
      if (!s.is_null(5))
        c.allowed_origins = origins_from_json(s.text(5));
      out.push_back(std::move(c));
    }
    return out;
  }

  void read_kicks(
      const std::function<void(std::uint32_t, const std::string&, std::int64_t)>& each) override {
    statement s(db_, "SELECT sdkappid, user_id, kick_time FROM kicks");
    while (s.step())
      each(static_cast<std::uint32_t>(s.integer(0)), s.text(1), s.integer(2));
  }

  void read_accounts(const std::function<void(std::uint32_t, const std::string&)>& each) override {
    statement s(db_, "SELECT sdkappid, user_id FROM accounts");
    while (s.step())
      each(static_cast<std::uint32_t>(s.integer(0)), s.text(1));
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<state_store> open_sqlite_store(const std::filesystem::path& state_dir) {
  return make_cached_state_store(std::make_unique<sqlite_state_tables>(state_dir));
}

}  // namespace chatd
