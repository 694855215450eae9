// The state store's tables in PostgreSQL (libpqxx): the shared durable store
// of a cluster; the embedded SQLite store is the single-node default.
// Every write is its own committed transaction (synchronous_commit as the
// server has it: on by default, so acknowledged means on disk).
// cached_state_store.cpp does the rest.
#include <pqxx/pqxx>

#include "store/postgres_connection.hpp"
#include "store/state_tables.hpp"

namespace chatd {
namespace {

constexpr const char* schema = R"sql(
  CREATE TABLE IF NOT EXISTS chatd_kicks (
    sdkappid BIGINT NOT NULL, user_id TEXT NOT NULL, kick_time BIGINT NOT NULL,
    PRIMARY KEY (sdkappid, user_id));
  CREATE TABLE IF NOT EXISTS chatd_accounts (
    sdkappid BIGINT NOT NULL, user_id TEXT NOT NULL,
    PRIMARY KEY (sdkappid, user_id));
  CREATE TABLE IF NOT EXISTS chatd_login_config (
    sdkappid BIGINT PRIMARY KEY, policy TEXT, max_web_instances INTEGER,
    max_devices_per_platform INTEGER, package_expire_at BIGINT, allowed_origins TEXT);
)sql";

// Several nodes may open the same database at once: the schema is made
// under an advisory lock (CREATE TABLE IF NOT EXISTS races otherwise).
constexpr std::int64_t schema_lock_key = 0x63686174640001;  // "chatd" 1

class postgres_state_tables final : public state_tables {
 public:
  explicit postgres_state_tables(std::string url) : db_(std::move(url)) {
    pqxx::work tx(db_.get());
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", schema_lock_key);
    tx.exec(schema);
    tx.commit();
  }

  void write_kick(std::uint32_t sdkappid, const std::string& user_id, std::int64_t t) override {
    db_.guarded([&] { write_kick_now(sdkappid, user_id, t); });
  }

  void write_login_config(const login_config_override& c) override {
    db_.guarded([&] { write_login_config_now(c); });
  }

  void write_accounts(const std::vector<account_ref>& accounts) override {
    db_.guarded([&] { write_accounts_now(accounts); });
  }

  std::vector<login_config_override> read_login_configs() override {
    std::vector<login_config_override> out;
    db_.guarded([&] { out = read_login_configs_now(); });
    return out;
  }

  void read_kicks(
      const std::function<void(std::uint32_t, const std::string&, std::int64_t)>& each) override {
    db_.guarded([&] {
      pqxx::read_transaction tx(db_.get());
      for (const auto& row : tx.exec("SELECT sdkappid, user_id, kick_time FROM chatd_kicks"))
        each(row[0].as<std::uint32_t>(), row[1].as<std::string>(), row[2].as<std::int64_t>());
    });
  }

  void read_accounts(const std::function<void(std::uint32_t, const std::string&)>& each) override {
    db_.guarded([&] {
      pqxx::read_transaction tx(db_.get());
      for (const auto& row : tx.exec("SELECT sdkappid, user_id FROM chatd_accounts"))
        each(row[0].as<std::uint32_t>(), row[1].as<std::string>());
    });
  }

 private:
  void write_kick_now(std::uint32_t sdkappid, const std::string& user_id, std::int64_t t) {
    pqxx::work tx(db_.get());
    tx.exec_params(
        "INSERT INTO chatd_kicks VALUES ($1, $2, $3) "
        "ON CONFLICT (sdkappid, user_id) DO UPDATE SET kick_time = EXCLUDED.kick_time",
        std::int64_t{sdkappid}, user_id, t);
    tx.commit();
  }

  void write_login_config_now(const login_config_override& c) {
    std::optional<std::string> policy;
    if (c.policy)
      policy = std::string(policy_name(*c.policy));
    pqxx::work tx(db_.get());
    tx.exec_params(R"sql(
      INSERT INTO chatd_login_config AS old VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (sdkappid) DO UPDATE SET
        policy = COALESCE($2, old.policy),
        max_web_instances = COALESCE($3, old.max_web_instances),
        max_devices_per_platform = COALESCE($4, old.max_devices_per_platform),
        package_expire_at = COALESCE($5, old.package_expire_at),
        allowed_origins = COALESCE($6, old.allowed_origins))sql",
                   std::int64_t{c.sdkappid}, policy, c.max_web_instances,
                   c.max_devices_per_platform, c.package_expire_at_ms,
                   origins_to_json(c.allowed_origins));
    tx.commit();
  }

  void write_accounts_now(const std::vector<account_ref>& accounts) {
    pqxx::work tx(db_.get());
    for (const auto& [app, user] : accounts)
      tx.exec_params("INSERT INTO chatd_accounts VALUES ($1, $2) ON CONFLICT DO NOTHING",
                     std::int64_t{app}, user);
    tx.commit();
  }

  std::vector<login_config_override> read_login_configs_now() {
    pqxx::read_transaction tx(db_.get());
    std::vector<login_config_override> out;
    for (const auto& row :
         tx.exec("SELECT sdkappid, policy, max_web_instances, max_devices_per_platform, "
                 "package_expire_at, allowed_origins FROM chatd_login_config")) {
      login_config_override c;
      c.sdkappid = row[0].as<std::uint32_t>();
      if (!row[1].is_null())
        c.policy = parse_policy(row[1].as<std::string>());
      if (!row[2].is_null())
        c.max_web_instances = row[2].as<int>();
      if (!row[3].is_null())
        c.max_devices_per_platform = row[3].as<int>();
      if (!row[4].is_null())
        c.package_expire_at_ms = row[4].as<std::int64_t>();
      if (!row[5].is_null())
        c.allowed_origins = origins_from_json(row[5].as<std::string>());
      out.push_back(std::move(c));
    }
    return out;
  }

  postgres_connection db_;
};

}  // namespace

std::unique_ptr<state_store> open_postgres_store(const std::string& url) {
  return open_postgres(url, "store", [&] {
    return make_cached_state_store(std::make_unique<postgres_state_tables>(url));
  });
}

}  // namespace chatd
