// The embedded store: one SQLite database in WAL mode with synchronous=FULL,
// so a write acknowledged to a REST caller survives kill -9 and power loss.
// Everything read on the login path is cached in memory.
//
// The sqlite3 C API is wrapped by hand (store/sqlite_util.hpp): the allowed
// Debian packages carry no C++ wrapper for SQLite.
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "store/sqlite_util.hpp"
#include "store/state_store.hpp"

namespace chatd {
namespace {

namespace json = boost::json;
using sqlite::exec_sql;
using sqlite::statement;
using sqlite::transaction;

std::string account_key(std::uint32_t sdkappid, const std::string& user_id) {
  return std::to_string(sdkappid) + '\n' + user_id;
}

constexpr const char* insert_account_sql = "INSERT OR IGNORE INTO accounts VALUES (?1, ?2)";

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
)sql";

std::optional<std::string> origins_json(const std::optional<std::vector<std::string>>& origins) {
  if (!origins)
    return std::nullopt;
  json::array a;
  for (const auto& o : *origins)
    a.emplace_back(o);
  return json::serialize(a);
}

class sqlite_store final : public state_store {
 public:
  explicit sqlite_store(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    const auto file = (dir / "chatd.sqlite3").string();
    if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK)
      throw std::runtime_error("cannot open " + file + ": " + sqlite3_errmsg(db_));
    sqlite3_busy_timeout(db_, 5000);
    exec(schema);
    load();
    flusher_ = std::thread([this] { flush_periodically(); });
  }

  ~sqlite_store() override {
    {
      std::lock_guard lock(pending_mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    flusher_.join();
    flush();
    sqlite3_close(db_);
  }

  void record_kick(std::uint32_t sdkappid, const std::string& user_id, std::int64_t t) override {
    write([&] {
      statement(db_,
                "INSERT INTO kicks VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET kick_time = ?3")
          .bind(1, sdkappid)
          .bind(2, user_id)
          .bind(3, t)
          .run();
    });
    std::unique_lock lock(cache_mutex_);
    kick_times_[account_key(sdkappid, user_id)] = t;
  }

  std::int64_t kick_time(std::uint32_t sdkappid, const std::string& user_id) const override {
    std::shared_lock lock(cache_mutex_);
    auto it = kick_times_.find(account_key(sdkappid, user_id));
    return it == kick_times_.end() ? 0 : it->second;
  }

  void save_login_config(const login_config_override& c) override {
    std::optional<std::string> policy;
    if (c.policy)
      policy = std::string(policy_name(*c.policy));
    write([&] {
      statement(db_, R"sql(
      INSERT INTO login_config VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET
        policy = COALESCE(?2, policy), max_web_instances = COALESCE(?3, max_web_instances),
        max_devices_per_platform = COALESCE(?4, max_devices_per_platform),
        package_expire_at = COALESCE(?5, package_expire_at),
        allowed_origins = COALESCE(?6, allowed_origins))sql")
          .bind(1, c.sdkappid)
          .bind(2, policy)
          .bind(3, c.max_web_instances ? std::optional<std::int64_t>(*c.max_web_instances)
                                       : std::nullopt)
          .bind(4, c.max_devices_per_platform
                       ? std::optional<std::int64_t>(*c.max_devices_per_platform)
                       : std::nullopt)
          .bind(5, c.package_expire_at_ms)
          .bind(6, origins_json(c.allowed_origins))
          .run();
    });
  }

  std::vector<login_config_override> login_config_overrides() const override {
    std::lock_guard lock(db_mutex_);
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
      if (!s.is_null(5)) {
        std::vector<std::string> origins;
        const auto list = json::parse(s.text(5));  // outlives the loop
        for (const auto& v : list.as_array())
          origins.emplace_back(v.as_string());
        c.allowed_origins = std::move(origins);
      }
      out.push_back(std::move(c));
    }
    return out;
  }

  void note_account(std::uint32_t sdkappid, const std::string& user_id) override {
    auto key = account_key(sdkappid, user_id);
    {
      std::shared_lock lock(cache_mutex_);
      if (accounts_.count(key) != 0)
        return;
    }
    {
      std::unique_lock lock(cache_mutex_);
      if (!accounts_.insert(key).second)
        return;
    }
    std::lock_guard lock(pending_mutex_);
    pending_accounts_.emplace_back(sdkappid, user_id);
  }

  void import_account(std::uint32_t sdkappid, const std::string& user_id) override {
    write([&] { insert_account(sdkappid, user_id); });
    std::unique_lock lock(cache_mutex_);
    accounts_.insert(account_key(sdkappid, user_id));
  }

  bool account_known(std::uint32_t sdkappid, const std::string& user_id) const override {
    std::shared_lock lock(cache_mutex_);
    return accounts_.count(account_key(sdkappid, user_id)) != 0;
  }

  void flush() override {
    std::vector<std::pair<std::uint32_t, std::string>> batch;
    {
      std::lock_guard lock(pending_mutex_);
      batch.swap(pending_accounts_);
    }
    if (batch.empty())
      return;
    try {
      std::lock_guard lock(db_mutex_);
      transaction tx(db_);
      statement insert(db_, insert_account_sql);  // prepared once per batch, not per account
      for (const auto& [app, user] : batch)
        insert.bind(1, app).bind(2, user).run();
      tx.commit();
    } catch (...) {
      ++write_failures_;
      requeue(std::move(batch));
      throw;
    }
  }

  std::uint64_t write_failures() const override { return write_failures_.load(); }

  void on_store_thread(std::function<void()> write, std::function<void(bool ok)> done) override {
    {
      std::lock_guard lock(pending_mutex_);
      jobs_.emplace_back(std::move(write), std::move(done));
    }
    wake_.notify_one();
  }

 private:
  using job = std::pair<std::function<void()>, std::function<void(bool)>>;

  // A failed write was counted by write(); the caller learns it (70500).
  static void run_job(job& j) {
    bool ok = true;
    try {
      j.first();
    } catch (const std::exception& e) {
      spdlog::error("store: write failed: {}", e.what());
      ok = false;
    }
    j.second(ok);
  }

  void exec(const char* sql) { exec_sql(db_, sql); }

  // One durable write under the database lock; a failure is counted and
  // thrown to the caller (which must not acknowledge it).
  template <class F>
  void write(F&& f) {
    try {
      std::lock_guard lock(db_mutex_);
      f();
    } catch (...) {
      ++write_failures_;
      throw;
    }
  }

  // A batch that could not be written goes back in front of what came since.
  void requeue(std::vector<std::pair<std::uint32_t, std::string>> batch) {
    std::lock_guard lock(pending_mutex_);
    batch.insert(batch.end(), std::make_move_iterator(pending_accounts_.begin()),
                 std::make_move_iterator(pending_accounts_.end()));
    pending_accounts_.swap(batch);
  }

  void insert_account(std::uint32_t sdkappid, const std::string& user_id) {
    statement(db_, "INSERT OR IGNORE INTO accounts VALUES (?1, ?2)")
        .bind(1, sdkappid)
        .bind(2, user_id)
        .run();
  }

  void load() {
    statement kicks(db_, "SELECT sdkappid, user_id, kick_time FROM kicks");
    while (kicks.step())
      kick_times_[account_key(static_cast<std::uint32_t>(kicks.integer(0)), kicks.text(1))] =
          kicks.integer(2);
    statement accounts(db_, "SELECT sdkappid, user_id FROM accounts");
    while (accounts.step())
      accounts_.insert(
          account_key(static_cast<std::uint32_t>(accounts.integer(0)), accounts.text(1)));
  }

  // The store's thread: durable writes as they come (on_store_thread), and
  // account inserts batched: one transaction (one fsync) per interval
  // instead of one per login.
  void flush_periodically() {
    std::unique_lock lock(pending_mutex_);
    auto next_flush = std::chrono::steady_clock::now();
    while (!stopping_ || !jobs_.empty()) {
      wake_.wait_until(lock, next_flush, [this] { return stopping_ || !jobs_.empty(); });
      auto jobs = std::move(jobs_);
      jobs_.clear();
      lock.unlock();
      for (auto& j : jobs)
        run_job(j);
      if (std::chrono::steady_clock::now() < next_flush) {
        lock.lock();
        continue;
      }
      next_flush = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      try {
        flush();
      } catch (const std::exception& e) {
        // Requeued by flush(): retried at the next interval.
        spdlog::error("store: batch of new accounts not written, will retry: {}", e.what());
      }
      lock.lock();
    }
  }

  sqlite3* db_ = nullptr;
  mutable std::mutex db_mutex_;
  mutable std::shared_mutex cache_mutex_;
  std::unordered_map<std::string, std::int64_t> kick_times_;
  std::unordered_set<std::string> accounts_;
  std::mutex pending_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::pair<std::uint32_t, std::string>> pending_accounts_;
  std::deque<job> jobs_;
  std::thread flusher_;
  std::atomic<std::uint64_t> write_failures_{0};
};

}  // namespace

std::unique_ptr<state_store> open_sqlite_store(const std::filesystem::path& state_dir) {
  return std::make_unique<sqlite_store>(state_dir);
}

}  // namespace chatd
