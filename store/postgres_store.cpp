// The state store's tables in PostgreSQL (libpqxx): the shared durable store
// of a cluster; the embedded SQLite store is the single-node default.
// Every write is its own committed transaction (synchronous_commit as the
// server has it: on by default, so acknowledged means on disk).
// cached_state_store.cpp does the rest.
#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <atomic>
#include <boost/json.hpp>
#include <future>
#include <random>
#include <thread>
#include <unordered_map>

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
  CREATE TABLE IF NOT EXISTS chatd_profiles (
    sdkappid BIGINT NOT NULL, user_id TEXT NOT NULL, tag TEXT NOT NULL,
    text_value BYTEA, number_value BIGINT,
    PRIMARY KEY (sdkappid, user_id, tag));
)sql";

// Every write tells the other processes on the database, in its own
// transaction (NOTIFY is delivered at commit, and only then).
constexpr const char* change_channel = "chatd_state";
constexpr std::size_t max_payload = 7000;  // PostgreSQL's limit is 8000 bytes

namespace json = boost::json;

// Each change names the process that made it ("o"): its own listener
// skips it (it applied the change already).
void notify(pqxx::work& tx, const std::string& origin, json::object change) {
  change["o"] = origin;
  tx.exec_params("SELECT pg_notify($1, $2)", change_channel, json::serialize(change));
}

// A random name for this process's changes.
std::string new_origin() {
  std::random_device entropy;
  return std::to_string(entropy()) + '-' + std::to_string(entropy());
}

// One notification per at most max_payload bytes of accounts.
void notify_accounts(pqxx::work& tx, const std::string& origin,
                     const std::vector<account_ref>& accounts) {
  json::array list;
  std::size_t bytes = 0;
  for (const auto& [app, user] : accounts) {
    list.push_back(json::array{app, user});
    bytes += user.size() + 16;
    if (bytes > max_payload) {
      notify(tx, origin, {{"k", "accounts"}, {"l", std::move(list)}});
      list = {};
      bytes = 0;
    }
  }
  if (!list.empty())
    notify(tx, origin, {{"k", "accounts"}, {"l", std::move(list)}});
}

// Hands one notification to the watcher; a malformed one is logged.
void dispatch(const std::string& payload, const std::string& origin, state_watcher& watcher) {
  spdlog::debug("store: change from another node: {}", payload);
  try {
    const auto change = json::parse(payload).as_object();
    if (const auto* from = change.if_contains("o");
        from && from->is_string() && from->get_string() == origin)
      return;
    const auto& kind = change.at("k").as_string();
    if (kind == "kick") {
      watcher.kicked(static_cast<std::uint32_t>(change.at("a").to_number<std::int64_t>()),
                     std::string(change.at("u").as_string()),
                     change.at("t").to_number<std::int64_t>());
    } else if (kind == "accounts") {
      std::vector<account_ref> accounts;
      for (const auto& item : change.at("l").as_array())
        accounts.emplace_back(static_cast<std::uint32_t>(item.at(0).to_number<std::int64_t>()),
                              std::string(item.at(1).as_string()));
      watcher.accounts_added(accounts);
    } else if (kind == "profile") {
      watcher.profile_changed(static_cast<std::uint32_t>(change.at("a").to_number<std::int64_t>()),
                              std::string(change.at("u").as_string()));
    } else if (kind == "config") {
      watcher.login_config_changed();
    }
  } catch (const std::exception& e) {
    spdlog::warn("store: unreadable change notification: {}", e.what());
  }
}

class change_receiver final : public pqxx::notification_receiver {
 public:
  change_receiver(pqxx::connection& c, const std::string& origin, state_watcher& watcher)
      : pqxx::notification_receiver(c, change_channel), origin_(origin), watcher_(watcher) {}
  void operator()(const std::string& payload, int) override {
    dispatch(payload, origin_, watcher_);
  }

 private:
  const std::string& origin_;
  state_watcher& watcher_;
};

// Several nodes may open the same database at once: the schema is made
// under an advisory lock (CREATE TABLE IF NOT EXISTS races otherwise).
constexpr std::int64_t schema_lock_key = 0x63686174640001;  // "chatd" 1

class postgres_state_tables final : public state_tables {
 public:
  explicit postgres_state_tables(std::string url) : db_(std::move(url)) {
    create_schema(db_.get(), schema_lock_key, schema);
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

  // A field is a text (bytea: any bytes JSON allows) or a number.
  void write_profile(std::uint32_t sdkappid, const std::string& user_id,
                     const std::vector<profile_field>& fields) override {
    db_.guarded([&] {
      pqxx::work tx(db_.get());
      const std::string upsert =
          "INSERT INTO chatd_profiles VALUES ($1, $2, $3, $4, $5) "
          "ON CONFLICT (sdkappid, user_id, tag) DO UPDATE SET "
          "text_value = EXCLUDED.text_value, number_value = EXCLUDED.number_value";
      for (const auto& field : fields) {
        if (const auto* text = std::get_if<std::string>(&field.value))
          tx.exec_params(upsert, std::int64_t{sdkappid}, user_id, field.tag,
                         pqxx::binarystring(text->data(), text->size()),
                         std::optional<std::int64_t>{});
        else
          tx.exec_params(upsert, std::int64_t{sdkappid}, user_id, field.tag, nullptr,
                         static_cast<std::int64_t>(std::get<std::uint64_t>(field.value)));
      }
      notify(tx, origin_, {{"k", "profile"}, {"a", sdkappid}, {"u", user_id}});
      tx.commit();
    });
  }

  std::vector<user_profile> read_profiles(std::uint32_t sdkappid,
                                          const std::vector<std::string>& user_ids) override {
    std::vector<user_profile> out;
    db_.guarded([&] {
      out.assign(user_ids.size(), {});
      std::unordered_map<std::string, std::vector<std::size_t>> index;
      for (std::size_t i = 0; i < user_ids.size(); ++i)
        index[user_ids[i]].push_back(i);
      pqxx::read_transaction tx(db_.get());
      for (const auto& row :
           tx.exec_params("SELECT user_id, tag, text_value, number_value FROM chatd_profiles "
                          "WHERE sdkappid = $1 AND user_id = ANY($2::text[]) "
                          "ORDER BY user_id, tag COLLATE \"C\"",
                          std::int64_t{sdkappid}, text_array(user_ids))) {
        const profile_field field{row[1].as<std::string>(),
                                  row[2].is_null()
                                      ? profile_value{row[3].as<std::uint64_t>()}
                                      : profile_value{pqxx::binarystring(row[2]).str()}};
        for (const auto i : index[row[0].as<std::string>()])
          out[i].push_back(field);
      }
    });
    return out;
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

  ~postgres_state_tables() override { unwatch(); }

  void unwatch() override {
    stopping_ = true;
    if (listener_.joinable())
      listener_.join();
  }

  // A thread of its own LISTENs; returns once it listens (or failed to:
  // then it keeps trying, and reads everything again when it gets there).
  void watch(state_watcher& watcher) override {
    std::promise<void> listening;
    auto started = listening.get_future();
    listener_ = std::thread([this, &watcher, listening = std::move(listening)]() mutable {
      listen(watcher, listening);
    });
    started.wait();
  }

 private:
  void listen(state_watcher& watcher, std::promise<void>& listening) {
    bool first = true;
    while (!stopping_) {
      try {
        pqxx::connection connection(db_.url());
        change_receiver receiver(connection, origin_, watcher);
        if (first)
          listening.set_value();
        else
          watcher.resync();  // what changed while nobody listened
        first = false;
        while (!stopping_)
          connection.await_notification(0, 200'000);
      } catch (const std::exception& e) {
        spdlog::warn("store: not listening for other nodes' changes, retrying: {}", e.what());
        if (first) {
          listening.set_value();
          first = false;
        }
        for (int i = 0; i < 10 && !stopping_; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }

  void write_kick_now(std::uint32_t sdkappid, const std::string& user_id, std::int64_t t) {
    pqxx::work tx(db_.get());
    tx.exec_params(
        "INSERT INTO chatd_kicks VALUES ($1, $2, $3) "
        "ON CONFLICT (sdkappid, user_id) DO UPDATE SET kick_time = EXCLUDED.kick_time",
        std::int64_t{sdkappid}, user_id, t);
    notify(tx, origin_, {{"k", "kick"}, {"a", sdkappid}, {"u", user_id}, {"t", t}});
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
        policy = CASE WHEN $7 & 1 <> 0 THEN NULL ELSE COALESCE($2, old.policy) END,
        max_web_instances =
          CASE WHEN $7 & 2 <> 0 THEN NULL ELSE COALESCE($3, old.max_web_instances) END,
        max_devices_per_platform =
          CASE WHEN $7 & 4 <> 0 THEN NULL ELSE COALESCE($4, old.max_devices_per_platform) END,
        package_expire_at =
          CASE WHEN $7 & 8 <> 0 THEN NULL ELSE COALESCE($5, old.package_expire_at) END,
        allowed_origins =
          CASE WHEN $7 & 16 <> 0 THEN NULL ELSE COALESCE($6, old.allowed_origins) END)sql",
                   std::int64_t{c.sdkappid}, policy, c.max_web_instances,
                   c.max_devices_per_platform, c.package_expire_at_ms,
                   origins_to_json(c.allowed_origins), static_cast<int>(c.cleared));
    notify(tx, origin_, {{"k", "config"}, {"a", c.sdkappid}});
    tx.commit();
  }

  void write_accounts_now(const std::vector<account_ref>& accounts) {
    pqxx::work tx(db_.get());
    for (const auto& [app, user] : accounts)
      tx.exec_params("INSERT INTO chatd_accounts VALUES ($1, $2) ON CONFLICT DO NOTHING",
                     std::int64_t{app}, user);
    notify_accounts(tx, origin_, accounts);
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
  const std::string origin_ = new_origin();
  std::thread listener_;
  std::atomic<bool> stopping_{false};
};

}  // namespace

std::unique_ptr<state_store> open_postgres_store(const std::string& url) {
  return open_postgres(url, "store", [&] {
    return make_cached_state_store(std::make_unique<postgres_state_tables>(url));
  });
}

}  // namespace chatd
