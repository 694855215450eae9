// The embedded timelines: one SQLite database (WAL, synchronous=FULL) owned
// by one thread. Sends waiting when the thread comes round are committed in
// one transaction (group commit): one fsync for the lot, so durability costs
// per batch, not per message. Seqs are assigned in that thread, in commit
// order, from heads kept in memory (loaded as the larger of the last seq
// stored and timeline_heads, which the expiry sweep fills before it drops
// entries, so that a seq is never reused).
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "store/message_store.hpp"
#include "store/sqlite_util.hpp"

namespace chatd {
namespace {

using sqlite::exec_sql;
using sqlite::statement;
using sqlite::transaction;

constexpr std::size_t max_batch = 4096;
constexpr auto sweep_interval = std::chrono::seconds(60);
constexpr auto checkpoint_interval = std::chrono::milliseconds(2000);

// A commit writes every page it changed to the WAL, and a message changes
// a leaf of each of its two timelines: each index on a timeline would add a
// page per message. So there is none on the peer: a conversation is read by
// walking the owner's timeline (at most max_timeline_messages entries)
// newest first. The expiry index only grows at its end (time order): one
// page per commit.
//
// Durability stays synchronous=FULL (every commit is fsynced). The rest is
// for throughput and tail latency, measured with bench/messages.py (see
// docs/DESIGN.md, "A message, end to end"): reads through mmap and an 8 MiB
// page cache (a larger one made every commit scan its hash table), and no
// checkpoint on the committing thread: a niced checkpointer does them every
// 2 s (checkpoint I/O is what makes the send latency's tail).
constexpr const char* schema = R"sql(
  PRAGMA journal_mode=WAL;
  PRAGMA synchronous=FULL;
  PRAGMA cache_size=-8192;
  PRAGMA mmap_size=268435456;
  PRAGMA wal_autocheckpoint=0;
  PRAGMA journal_size_limit=67108864;
  CREATE TABLE IF NOT EXISTS timeline (
    sdkappid INTEGER NOT NULL, owner TEXT NOT NULL, seq INTEGER NOT NULL,
    flow INTEGER NOT NULL, peer TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
    text TEXT NOT NULL, client_msg_id TEXT NOT NULL, message_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL, random INTEGER NOT NULL, client_seq INTEGER NOT NULL,
    client_time INTEGER NOT NULL, expire_at_ms INTEGER NOT NULL,
    PRIMARY KEY (sdkappid, owner, seq)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS timeline_by_expiry ON timeline (expire_at_ms);
  CREATE TABLE IF NOT EXISTS timeline_heads (
    sdkappid INTEGER NOT NULL, user_id TEXT NOT NULL, head INTEGER NOT NULL,
    PRIMARY KEY (sdkappid, user_id)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS sent_ids (
    sdkappid INTEGER NOT NULL, sender TEXT NOT NULL, client_msg_id TEXT NOT NULL,
    recipient TEXT NOT NULL, recipient_seq INTEGER NOT NULL, sender_seq INTEGER NOT NULL,
    expire_at_ms INTEGER NOT NULL,
    PRIMARY KEY (sdkappid, sender, client_msg_id)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS timeline_delivered (
    sdkappid INTEGER NOT NULL, user_id TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (sdkappid, user_id)) WITHOUT ROWID;
)sql";

constexpr const char* columns =
    "seq, flow, sender, recipient, text, client_msg_id, message_id, time_ms, random, "
    "client_seq, client_time";

std::int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct user_ref {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  bool operator==(const user_ref&) const = default;
};

struct user_ref_hash {
  std::size_t operator()(const user_ref& u) const noexcept {
    return std::hash<std::string>{}(u.user_id) * 31 + u.sdkappid;
  }
};

// Reads one row selected with `columns` (sdkappid given) into an entry.
timeline_entry read_entry(const statement& row, std::uint32_t sdkappid) {
  auto message = std::make_shared<chat_message>();
  message->sdkappid = sdkappid;
  message->from = row.text(2);
  message->to = row.text(3);
  message->text = row.text(4);
  message->client_msg_id = row.text(5);
  message->message_id = row.text(6);
  message->time_ms = row.integer(7);
  message->random = static_cast<std::uint32_t>(row.integer(8));
  message->client_seq = static_cast<std::uint64_t>(row.integer(9));
  message->client_time_s = row.integer(10);
  const auto flow = row.integer(1) == 0 ? message_flow::in : message_flow::out;
  return timeline_entry{static_cast<std::uint64_t>(row.integer(0)), flow, std::move(message)};
}

class sqlite_message_store final : public message_store {
 public:
  explicit sqlite_message_store(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    const auto file = (dir / "timelines.sqlite3").string();
    if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK)
      throw std::runtime_error("cannot open " + file + ": " + sqlite3_errmsg(db_));
    sqlite3_busy_timeout(db_, 5000);
    exec_sql(db_, schema);
    statement count(db_, "SELECT COUNT(*) FROM timeline");
    if (count.step())
      entries_ = static_cast<std::uint64_t>(count.integer(0));
    prepare();
    native_seq_ = static_cast<std::uint64_t>(wall_ms() / 1000) * 1000;
    thread_ = std::thread([this] { run(); });
    checkpointer_ = std::thread([this, file] { checkpoint_periodically(file); });
  }

  ~sqlite_message_store() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    wake_checkpointer_.notify_all();
    thread_.join();
    checkpointer_.join();
    statements_.reset();
    sqlite3_close(db_);
  }

  void append(append_request request) override {
    enqueue([&] { appends_.push_back(std::move(request)); });
  }

  void read_timeline(std::uint32_t sdkappid, std::string user_id,
                     std::optional<std::uint64_t> after_seq, std::size_t max_count,
                     std::function<void(timeline_page)> done) override {
    enqueue([&] {
      reads_.push_back([this, sdkappid, user = std::move(user_id), after_seq, max_count,
                        done = std::move(done)] {
        done(timeline_after(user_ref{sdkappid, user}, after_seq, max_count));
      });
    });
  }

  void read_conversation(conversation_query query,
                         std::function<void(std::vector<timeline_entry>)> done) override {
    enqueue([&] {
      reads_.push_back(
          [this, query = std::move(query), done = std::move(done)] { done(conversation(query)); });
    });
  }

  void note_delivered(std::uint32_t sdkappid, const std::string& user_id,
                      std::uint64_t seq) override {
    std::lock_guard lock(mutex_);
    auto& known = delivered_[user_ref{sdkappid, user_id}];
    if (seq > known) {
      known = seq;
      delivered_dirty_.insert(user_ref{sdkappid, user_id});
    }
  }

  std::uint64_t stored_entries() const override { return entries_.load(); }
  std::uint64_t write_failures() const override { return write_failures_.load(); }

 private:
  struct prepared {
    statement insert;
    statement get_head;
    statement cap;
    statement after;
    statement set_delivered;
    statement get_delivered;
    statement find_sent;
    statement note_sent;
    statement entry_at;
  };

  void prepare() {
    const std::string select_after =
        std::string("SELECT ") + columns +
        " FROM timeline WHERE sdkappid = ?1 AND owner = ?2 AND seq > ?3"
        " AND expire_at_ms >= ?4 ORDER BY seq LIMIT ?5";
    const std::string entry_at_sql =
        std::string("SELECT ") + columns +
        " FROM timeline WHERE sdkappid = ?1 AND owner = ?2 AND seq = ?3";
    statements_.reset(new prepared{
        statement(db_,
                  "INSERT INTO timeline VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                  "?12, ?13, ?14, ?15)"),
        statement(db_,
                  "SELECT MAX(COALESCE((SELECT head FROM timeline_heads WHERE sdkappid = ?1 AND "
                  "user_id = ?2), 0), COALESCE((SELECT MAX(seq) FROM timeline WHERE sdkappid = ?1 "
                  "AND owner = ?2), 0))"),
        statement(db_, "DELETE FROM timeline WHERE sdkappid = ?1 AND owner = ?2 AND seq <= ?3"),
        statement(db_, select_after.c_str()),
        statement(db_,
                  "INSERT INTO timeline_delivered VALUES (?1, ?2, ?3) "
                  "ON CONFLICT DO UPDATE SET seq = MAX(seq, ?3)"),
        statement(db_, "SELECT seq FROM timeline_delivered WHERE sdkappid = ?1 AND user_id = ?2"),
        statement(db_,
                  "SELECT recipient, recipient_seq, sender_seq FROM sent_ids "
                  "WHERE sdkappid = ?1 AND sender = ?2 AND client_msg_id = ?3"),
        statement(db_, "INSERT INTO sent_ids VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        statement(db_, entry_at_sql.c_str()),
    });
  }

  template <class F>
  void enqueue(F&& add) {
    {
      std::lock_guard lock(mutex_);
      add();
    }
    wake_.notify_one();
  }

  // The store's thread: batches of appends, then the reads that waited
  // (which therefore see every commit before them), the delivered marks,
  // and a retention sweep now and then.
  void run() {
    auto next_sweep = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait_until(lock, next_sweep,
                       [this] { return stopping_ || !appends_.empty() || !reads_.empty(); });
      const bool stop = stopping_ && appends_.empty() && reads_.empty();
      std::vector<append_request> batch;
      while (!appends_.empty() && batch.size() < max_batch) {
        batch.push_back(std::move(appends_.front()));
        appends_.pop_front();
      }
      auto reads = std::move(reads_);
      reads_.clear();
      auto delivered = take_delivered();
      lock.unlock();
      if (!batch.empty())
        write_batch(batch);
      for (auto& read : reads)
        run_read(read);
      if (!delivered.empty())
        write_delivered(delivered);
      if (std::chrono::steady_clock::now() >= next_sweep) {
        sweep_expired();
        next_sweep = std::chrono::steady_clock::now() + sweep_interval;
      }
      lock.lock();
      if (stop)
        return;
    }
  }

  // Copies the WAL into the database from a connection of its own, so that
  // a commit never waits for a checkpoint (PASSIVE: it never blocks the
  // writer either; what it could not copy waits for the next round).
  void checkpoint_periodically(const std::string& file) {
    // Below the threads that answer clients: a checkpoint may wait, a send should not.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
    sqlite3* db = nullptr;
    if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) {
      spdlog::error("store: no checkpointer for {}: {}", file, sqlite3_errmsg(db));
      sqlite3_close(db);
      return;
    }
    sqlite3_busy_timeout(db, 1000);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_checkpointer_.wait_for(lock, checkpoint_interval);
      lock.unlock();
      const int rc =
          sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        spdlog::warn("store: checkpoint failed: {}", sqlite3_errmsg(db));
      lock.lock();
    }
    lock.unlock();
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    sqlite3_close(db);
  }

  void run_read(const std::function<void()>& read) {
    try {
      read();
    } catch (const std::exception& e) {
      // The callback was not called: its caller times out (70500).
      spdlog::error("timeline read failed: {}", e.what());
    }
  }

  std::vector<std::pair<user_ref, std::uint64_t>> take_delivered() {
    std::vector<std::pair<user_ref, std::uint64_t>> out;
    for (const auto& user : delivered_dirty_)
      out.emplace_back(user, delivered_[user]);
    delivered_dirty_.clear();
    return out;
  }

  std::uint64_t& head_of(const user_ref& user) {
    auto it = heads_.find(user);
    if (it != heads_.end())
      return it->second;
    auto& get = statements_->get_head;
    get.reset().bind(1, user.sdkappid).bind(2, user.user_id);
    const auto head = get.step() ? static_cast<std::uint64_t>(get.integer(0)) : 0;
    get.reset();
    return heads_.emplace(user, head).first->second;
  }

  void insert_row(const chat_message& m, const timeline_entry& entry, std::int64_t expire_at_ms) {
    statements_->insert.bind(1, m.sdkappid)
        .bind(2, entry.owner())
        .bind(3, static_cast<std::int64_t>(entry.seq))
        .bind(4, entry.flow == message_flow::in ? 0 : 1)
        .bind(5, entry.peer())
        .bind(6, m.from)
        .bind(7, m.to)
        .bind(8, m.text)
        .bind(9, m.client_msg_id)
        .bind(10, m.message_id)
        .bind(11, m.time_ms)
        .bind(12, m.random)
        .bind(13, static_cast<std::int64_t>(m.client_seq))
        .bind(14, m.client_time_s)
        .bind(15, expire_at_ms)
        .run();
  }

  // A timeline a batch appended to: its cap, and its head before the batch
  // (restored if the batch fails).
  struct touched_timeline {
    std::uint32_t max_entries = 0;
    std::uint64_t head_before = 0;
  };
  using touched_map = std::unordered_map<user_ref, touched_timeline, user_ref_hash>;

  std::uint64_t next_seq(const user_ref& user, std::uint32_t max_entries, touched_map& touched) {
    auto& head = head_of(user);
    auto [it, first] = touched.try_emplace(user, touched_timeline{max_entries, head});
    it->second.max_entries = max_entries;
    return ++head;
  }

  std::optional<timeline_entry> entry_at(std::uint32_t sdkappid, const std::string& owner,
                                         std::uint64_t seq) {
    auto& select = statements_->entry_at;
    select.reset().bind(1, sdkappid).bind(2, owner).bind(3, static_cast<std::int64_t>(seq));
    std::optional<timeline_entry> out;
    if (select.step())
      out = read_entry(select, sdkappid);
    select.reset();
    return out;
  }

  // The entries of an earlier send with the same sender and clientMsgID,
  // if it is still retained.
  std::optional<appended_message> earlier_send(const chat_message& m) {
    if (m.client_msg_id.empty())
      return std::nullopt;
    auto& find = statements_->find_sent;
    find.reset().bind(1, m.sdkappid).bind(2, m.from).bind(3, m.client_msg_id);
    if (!find.step()) {
      find.reset();
      return std::nullopt;
    }
    const auto recipient = find.text(0);
    const auto recipient_seq = static_cast<std::uint64_t>(find.integer(1));
    const auto sender_seq = static_cast<std::uint64_t>(find.integer(2));
    find.reset();
    auto first = entry_at(m.sdkappid, recipient, recipient_seq);
    if (!first)
      return std::nullopt;  // dropped by retention: a new message
    appended_message out{*first, std::nullopt, true};
    if (sender_seq != 0)
      out.sender = timeline_entry{sender_seq, message_flow::out, first->message};
    return out;
  }

  void note_sent(const appended_message& sent, std::int64_t expire_at_ms) {
    const auto& m = *sent.recipient.message;
    statements_->note_sent.bind(1, m.sdkappid)
        .bind(2, m.from)
        .bind(3, m.client_msg_id)
        .bind(4, m.to)
        .bind(5, static_cast<std::int64_t>(sent.recipient.seq))
        .bind(6, static_cast<std::int64_t>(sent.sender ? sent.sender->seq : 0))
        .bind(7, expire_at_ms)
        .run();
  }

  // Stamps the message (time, ids) and appends it to its timelines, unless
  // the sender sent its clientMsgID before.
  appended_message write_one(append_request& request, std::int64_t& last_time_ms,
                             touched_map& touched) {
    if (auto earlier = earlier_send(request.message))
      return std::move(*earlier);
    auto message = std::make_shared<chat_message>(std::move(request.message));
    last_time_ms = std::max(last_time_ms, wall_ms());
    message->time_ms = last_time_ms;
    if (message->client_seq == 0)
      message->client_seq = ++native_seq_;
    if (message->client_time_s == 0)
      message->client_time_s = message->time_ms / 1000;
    message->message_id =
        message_key(message->client_seq, message->random, message->time_ms / 1000);
    const auto expire_at = message->time_ms + request.retention_ms;

    const user_ref recipient{message->sdkappid, message->to};
    const auto cap = request.max_timeline_messages;
    appended_message out{{next_seq(recipient, cap, touched), message_flow::in, message},
                         std::nullopt};
    insert_row(*message, out.recipient, expire_at);
    if (request.copy_to_sender && message->from != message->to) {
      const user_ref sender{message->sdkappid, message->from};
      out.sender = timeline_entry{next_seq(sender, cap, touched), message_flow::out, message};
      insert_row(*message, *out.sender, expire_at);
    }
    if (!message->client_msg_id.empty())
      note_sent(out, expire_at);
    return out;
  }

  void write_batch(std::vector<append_request>& batch) {
    touched_map touched;
    std::vector<appended_message> results;
    results.reserve(batch.size());
    std::int64_t deleted = 0;
    try {
      transaction tx(db_);
      std::int64_t last_time_ms = last_time_ms_;
      for (auto& request : batch)
        results.push_back(write_one(request, last_time_ms, touched));
      for (const auto& [user, timeline] : touched) {
        const auto head = heads_[user];
        const auto max_entries = timeline.max_entries;
        if (head > max_entries) {
          statements_->cap.bind(1, user.sdkappid)
              .bind(2, user.user_id)
              .bind(3, static_cast<std::int64_t>(head - max_entries))
              .run();
          deleted += sqlite3_changes(db_);
        }
      }
      tx.commit();
      last_time_ms_ = last_time_ms;
    } catch (const std::exception& e) {
      ++write_failures_;
      for (const auto& [user, timeline] : touched)
        heads_[user] = timeline.head_before;
      spdlog::error("store: {} message(s) not written: {}", batch.size(), e.what());
      for (auto& request : batch)
        request.done(std::nullopt);
      return;
    }
    std::uint64_t inserted = 0;
    for (const auto& r : results)
      if (!r.duplicate)
        inserted += r.sender ? 2 : 1;
    entries_ += inserted;
    entries_ -= static_cast<std::uint64_t>(deleted);
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i].done(std::move(results[i]));
  }

  std::uint64_t delivered_seq(const user_ref& user) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = delivered_.find(user); it != delivered_.end())
        return it->second;
    }
    auto& get = statements_->get_delivered;
    get.reset().bind(1, user.sdkappid).bind(2, user.user_id);
    const auto stored = get.step() ? static_cast<std::uint64_t>(get.integer(0)) : 0;
    get.reset();
    std::lock_guard lock(mutex_);
    auto& known = delivered_[user];
    known = std::max(known, stored);
    return known;
  }

  timeline_page timeline_after(const user_ref& user, std::optional<std::uint64_t> after_seq,
                               std::size_t max_count) {
    const auto after = after_seq ? *after_seq : delivered_seq(user);
    timeline_page page;
    page.head = head_of(user);
    auto& select = statements_->after;
    select.reset()
        .bind(1, user.sdkappid)
        .bind(2, user.user_id)
        .bind(3, static_cast<std::int64_t>(std::min<std::uint64_t>(after, INT64_MAX)))
        .bind(4, wall_ms())
        .bind(5, static_cast<std::int64_t>(max_count));
    while (select.step())
      page.entries.push_back(read_entry(select, user.sdkappid));
    select.reset();
    return page;
  }

  std::vector<timeline_entry> conversation(const conversation_query& q) {
    const std::string sql = std::string("SELECT ") + columns +
                            " FROM timeline WHERE sdkappid = ?1 AND owner = ?2 AND peer = ?3"
                            " AND time_ms BETWEEN ?4 AND ?5 AND expire_at_ms >= ?6 AND seq < ?8"
                            " ORDER BY seq " +
                            (q.newest_first ? "DESC" : "ASC") + " LIMIT ?7";
    statement select(db_, sql.c_str());
    select.bind(1, q.sdkappid)
        .bind(2, q.owner)
        .bind(3, q.peer)
        .bind(4, q.min_time_ms)
        .bind(5, q.max_time_ms)
        .bind(6, wall_ms())
        .bind(7, static_cast<std::int64_t>(q.max_count))
        .bind(8, static_cast<std::int64_t>(std::min<std::uint64_t>(q.below_seq, INT64_MAX)));
    std::vector<timeline_entry> out;
    while (select.step())
      out.push_back(read_entry(select, q.sdkappid));
    return out;
  }

  void write_delivered(const std::vector<std::pair<user_ref, std::uint64_t>>& marks) {
    try {
      transaction tx(db_);
      for (const auto& [user, seq] : marks)
        statements_->set_delivered.bind(1, user.sdkappid)
            .bind(2, user.user_id)
            .bind(3, static_cast<std::int64_t>(seq))
            .run();
      tx.commit();
    } catch (const std::exception& e) {
      // Only a hint for the next SDK login's offline sync: not retried.
      ++write_failures_;
      spdlog::warn("store: delivered marks not written: {}", e.what());
    }
  }

  void sweep_expired() {
    try {
      // The heads of timelines that may lose every entry are kept first:
      // a seq is never reused.
      const auto now = wall_ms();
      transaction tx(db_);
      statement(db_, R"sql(
        INSERT INTO timeline_heads SELECT sdkappid, owner, MAX(seq) FROM timeline
          WHERE expire_at_ms < ?1 GROUP BY sdkappid, owner
        ON CONFLICT DO UPDATE SET head = MAX(head, excluded.head))sql")
          .bind(1, now)
          .run();
      statement sweep(db_, "DELETE FROM timeline WHERE expire_at_ms < ?1");
      sweep.bind(1, now).run();
      entries_ -= static_cast<std::uint64_t>(sqlite3_changes(db_));
      statement(db_, "DELETE FROM sent_ids WHERE expire_at_ms < ?1").bind(1, now).run();
      tx.commit();
    } catch (const std::exception& e) {
      ++write_failures_;
      spdlog::warn("store: retention sweep failed: {}", e.what());
    }
  }

  sqlite3* db_ = nullptr;
  std::unique_ptr<prepared> statements_;
  std::thread thread_;
  std::thread checkpointer_;

  // Shared with the callers, under mutex_.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable wake_checkpointer_;
  bool stopping_ = false;
  std::deque<append_request> appends_;
  std::vector<std::function<void()>> reads_;
  std::unordered_map<user_ref, std::uint64_t, user_ref_hash> delivered_;
  std::unordered_set<user_ref, user_ref_hash> delivered_dirty_;

  // The store thread's own.
  std::unordered_map<user_ref, std::uint64_t, user_ref_hash> heads_;
  std::int64_t last_time_ms_ = 0;
  std::uint64_t native_seq_ = 0;

  std::atomic<std::uint64_t> entries_{0};
  std::atomic<std::uint64_t> write_failures_{0};
};

}  // namespace

std::unique_ptr<message_store> open_sqlite_message_store(const std::filesystem::path& state_dir) {
  return std::make_unique<sqlite_message_store>(state_dir);
}

}  // namespace chatd
