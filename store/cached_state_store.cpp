// The state_store both databases share: everything read on the login path
// is cached in memory (loaded at open), durable writes go through to the
// tables under one lock, and new accounts are batched: one transaction per
// 200 ms instead of one per login.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "store/profile_cache.hpp"
#include "store/state_tables.hpp"

namespace chatd {
namespace {

std::string account_key(std::uint32_t sdkappid, const std::string& user_id) {
  return std::to_string(sdkappid) + '\n' + user_id;
}

class cached_state_store final : public state_store, private state_watcher {
 public:
  explicit cached_state_store(std::unique_ptr<state_tables> tables) : tables_(std::move(tables)) {
    // Listening first: a change made while the caches load is not missed
    // (applying one twice is harmless).
    tables_->watch(*this);
    load();
    flusher_ = std::thread([this] { flush_periodically(); });
  }

  ~cached_state_store() override {
    {
      std::lock_guard lock(pending_mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    flusher_.join();
    try {
      flush();
    } catch (const std::exception& e) {
      spdlog::error("store: new accounts lost at close: {}", e.what());
    }
    tables_->unwatch();  // no watcher call runs past this point
  }

  void record_kick(std::uint32_t sdkappid, const std::string& user_id, std::int64_t t) override {
    write([&] { tables_->write_kick(sdkappid, user_id, t); });
    std::unique_lock lock(cache_mutex_);
    kick_times_[account_key(sdkappid, user_id)] = t;
  }

  std::int64_t kick_time(std::uint32_t sdkappid, const std::string& user_id) const override {
    std::shared_lock lock(cache_mutex_);
    auto it = kick_times_.find(account_key(sdkappid, user_id));
    return it == kick_times_.end() ? 0 : it->second;
  }

  void save_login_config(const login_config_override& change) override {
    write([&] { tables_->write_login_config(change); });
  }

  std::vector<login_config_override> login_config_overrides() const override {
    std::lock_guard lock(tables_mutex_);
    return tables_->read_login_configs();
  }

  // Dropped from the cache even if the write failed: a commit whose answer
  // was lost may still have changed the tables.
  void save_profile(std::uint32_t sdkappid, const std::string& user_id,
                    const std::vector<profile_field>& fields) override {
    try {
      write([&] { tables_->write_profile(sdkappid, user_id, fields); });
    } catch (...) {
      profiles_.drop(sdkappid, user_id);
      throw;
    }
    profiles_.drop(sdkappid, user_id);
  }

  std::vector<user_profile> profiles(std::uint32_t sdkappid,
                                     const std::vector<std::string>& user_ids) override {
    if (auto cached = profiles_.find(sdkappid, user_ids))
      return std::move(*cached);
    const auto generation = profiles_.generation();
    std::vector<user_profile> read;
    {
      std::lock_guard lock(tables_mutex_);
      read = tables_->read_profiles(sdkappid, user_ids);
    }
    profiles_.keep(sdkappid, user_ids, read, generation);
    return read;
  }

  std::optional<std::vector<user_profile>> cached_profiles(
      std::uint32_t sdkappid, const std::vector<std::string>& user_ids) const override {
    return profiles_.find(sdkappid, user_ids);
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
    write([&] { tables_->write_accounts({{sdkappid, user_id}}); });
    std::unique_lock lock(cache_mutex_);
    accounts_.insert(account_key(sdkappid, user_id));
  }

  bool account_known(std::uint32_t sdkappid, const std::string& user_id) const override {
    std::shared_lock lock(cache_mutex_);
    return accounts_.count(account_key(sdkappid, user_id)) != 0;
  }

  void flush() override {
    std::vector<account_ref> batch;
    {
      std::lock_guard lock(pending_mutex_);
      batch.swap(pending_accounts_);
    }
    if (batch.empty())
      return;
    try {
      write([&] { tables_->write_accounts(batch); });
    } catch (...) {
      requeue(std::move(batch));
      throw;
    }
  }

  std::uint64_t write_failures() const override { return write_failures_.load(); }

  void on_login_config_changed(std::function<void()> changed) override {
    std::lock_guard lock(listener_mutex_);
    config_changed_ = std::move(changed);
  }

  void on_store_thread(std::function<void()> write, std::function<void(bool ok)> done) override {
    {
      std::lock_guard lock(pending_mutex_);
      jobs_.emplace_back(std::move(write), std::move(done));
    }
    wake_.notify_one();
  }

 private:
  using job = std::pair<std::function<void()>, std::function<void(bool)>>;

  // The caches as the tables have them (at open, and after a resync).
  void load() {
    std::unordered_map<std::string, std::int64_t> kicks;
    std::unordered_set<std::string> accounts;
    {
      std::lock_guard lock(tables_mutex_);
      tables_->read_kicks([&](std::uint32_t app, const std::string& user, std::int64_t t) {
        kicks[account_key(app, user)] = t;
      });
      tables_->read_accounts([&](std::uint32_t app, const std::string& user) {
        accounts.insert(account_key(app, user));
      });
    }
    std::unique_lock lock(cache_mutex_);
    for (const auto& [key, t] : kicks)
      kick_times_[key] = std::max(kick_times_[key], t);
    accounts_.merge(accounts);
  }

  // state_watcher: another process's changes.
  void kicked(std::uint32_t sdkappid, const std::string& user_id, std::int64_t t) override {
    std::unique_lock lock(cache_mutex_);
    auto& known = kick_times_[account_key(sdkappid, user_id)];
    known = std::max(known, t);
  }

  void accounts_added(const std::vector<account_ref>& accounts) override {
    std::unique_lock lock(cache_mutex_);
    for (const auto& [app, user] : accounts)
      accounts_.insert(account_key(app, user));
  }

  void profile_changed(std::uint32_t sdkappid, const std::string& user_id) override {
    profiles_.drop(sdkappid, user_id);
  }

  void login_config_changed() override {
    std::function<void()> changed;
    {
      std::lock_guard lock(listener_mutex_);
      changed = config_changed_;
    }
    if (changed)
      changed();
  }

  void resync() override {
    profiles_.clear();
    load();
    login_config_changed();
  }

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

  // One durable write under the tables' lock; a failure is counted and
  // thrown to the caller (which must not acknowledge it).
  template <class F>
  void write(F&& f) {
    try {
      std::lock_guard lock(tables_mutex_);
      f();
    } catch (...) {
      ++write_failures_;
      throw;
    }
  }

  // A batch that could not be written goes back in front of what came since.
  void requeue(std::vector<account_ref> batch) {
    std::lock_guard lock(pending_mutex_);
    batch.insert(batch.end(), std::make_move_iterator(pending_accounts_.begin()),
                 std::make_move_iterator(pending_accounts_.end()));
    pending_accounts_.swap(batch);
  }

  // The store's thread: durable writes as they come (on_store_thread), and
  // the batched accounts every interval.
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

  std::unique_ptr<state_tables> tables_;
  mutable std::mutex tables_mutex_;
  std::mutex listener_mutex_;
  std::function<void()> config_changed_;
  mutable std::shared_mutex cache_mutex_;
  std::unordered_map<std::string, std::int64_t> kick_times_;
  std::unordered_set<std::string> accounts_;
  profile_cache profiles_;
  std::mutex pending_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<account_ref> pending_accounts_;
  std::deque<job> jobs_;
  std::thread flusher_;
  std::atomic<std::uint64_t> write_failures_{0};
};

}  // namespace

std::unique_ptr<state_store> make_cached_state_store(std::unique_ptr<state_tables> tables) {
  return std::make_unique<cached_state_store>(std::move(tables));
}

std::optional<std::string> origins_to_json(const std::optional<std::vector<std::string>>& origins) {
  if (!origins)
    return std::nullopt;
  boost::json::array a;
  for (const auto& o : *origins)
    a.emplace_back(o);
  return boost::json::serialize(a);
}

std::vector<std::string> origins_from_json(const std::string& text) {
  std::vector<std::string> origins;
  const auto list = boost::json::parse(text);
  for (const auto& v : list.as_array())
    origins.emplace_back(v.as_string());
  return origins;
}

}  // namespace chatd
