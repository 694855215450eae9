// The embedded timelines' tables: one SQLite database (WAL,
// synchronous=FULL) used by the store's one thread. Seqs come from heads
// kept in memory (loaded as the larger of the last seq stored and
// timeline_heads, which the expiry sweep fills before it drops entries, so
// that a seq is never reused). batched_message_store.cpp does the rest.
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "store/sqlite_conversation_readers.hpp"
#include "store/sqlite_timeline_rows.hpp"
#include "store/sqlite_util.hpp"
#include "store/timeline_tables.hpp"

namespace chatd {
namespace {

using sqlite::exec_sql;
using sqlite::statement;

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
    custom INTEGER NOT NULL DEFAULT 0, custom_data TEXT NOT NULL DEFAULT '',
    custom_description TEXT NOT NULL DEFAULT '', custom_extension TEXT NOT NULL DEFAULT '',
    revoked INTEGER NOT NULL DEFAULT 0,
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

// A user's conversations: one row per (owner, peer), touched by every
// batch that appends to it (the newest seq; the peer's messages counted
// unread until the owner's read mark passes them). A database made before
// conversations gets them from its timelines, with nothing unread (whether
// those were read is not known).
void add_conversations(sqlite3* db) {
  statement has(db,
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = "
                "'conversations'");
  if (has.step() && has.integer(0) != 0)
    return;
  sqlite::transaction tx(db);
  exec_sql(db, R"sql(
    CREATE TABLE conversations (
      sdkappid INTEGER NOT NULL, owner TEXT NOT NULL, peer TEXT NOT NULL,
      last_seq INTEGER NOT NULL, last_time_ms INTEGER NOT NULL,
      unread INTEGER NOT NULL, read_time_ms INTEGER NOT NULL,
      PRIMARY KEY (sdkappid, owner, peer)) WITHOUT ROWID;
    INSERT INTO conversations
      SELECT sdkappid, owner, peer, MAX(seq), MAX(time_ms), 0, 0 FROM timeline
      GROUP BY sdkappid, owner, peer;)sql");
  tx.commit();
}

bool has_column(sqlite3* db, const char* name) {
  statement has(db, "SELECT COUNT(*) FROM pragma_table_info('timeline') WHERE name = ?1");
  has.bind(1, name);
  return has.step() && has.integer(0) != 0;
}

// A database made before custom messages and revokes gets their columns
// (custom 0: a text message; revoked 0), in the order a new one has them.
void add_columns(sqlite3* db) {
  if (!has_column(db, "custom"))
    exec_sql(db,
             "ALTER TABLE timeline ADD COLUMN custom INTEGER NOT NULL DEFAULT 0;"
             "ALTER TABLE timeline ADD COLUMN custom_data TEXT NOT NULL DEFAULT '';"
             "ALTER TABLE timeline ADD COLUMN custom_description TEXT NOT NULL DEFAULT '';"
             "ALTER TABLE timeline ADD COLUMN custom_extension TEXT NOT NULL DEFAULT '';");
  if (!has_column(db, "revoked"))
    exec_sql(db, "ALTER TABLE timeline ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;");
}

// Reads one row selected with `columns` (sdkappid given) into an entry.
class sqlite_timeline_tables final : public timeline_tables {
 public:
  explicit sqlite_timeline_tables(const std::filesystem::path& dir)
      : file_((dir / "timelines.sqlite3").string()) {
    std::filesystem::create_directories(dir);
    db_ = sqlite::open_connection(file_, 5000);
    exec_sql(db_, schema);
    add_columns(db_);
    add_conversations(db_);
    prepare();
    checkpointer_ = std::thread([this] { checkpoint_periodically(); });
  }

  ~sqlite_timeline_tables() override {
    {
      std::lock_guard lock(checkpoint_mutex_);
      stopping_ = true;
    }
    wake_checkpointer_.notify_all();
    checkpointer_.join();
    statements_.reset();
    sqlite3_close(db_);
  }

  std::uint64_t count_entries() override {
    statement count(db_, "SELECT COUNT(*) FROM timeline");
    return count.step() ? static_cast<std::uint64_t>(count.integer(0)) : 0;
  }

  void begin() override {
    exec_sql(db_, "BEGIN");
    heads_before_.clear();
  }

  void commit() override {
    exec_sql(db_, "COMMIT");
    heads_before_.clear();
  }

  // The heads the batch touched are read again from the tables: a batch
  // may have failed because a row was there that this process did not
  // write (another process on the same files, a hand edit), and a head kept
  // from before would fail every later send of that timeline.
  void rollback() noexcept override {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    for (const auto& [user, head] : heads_before_)
      heads_.erase(user);
    heads_before_.clear();
  }

  // One writer (this process's store thread): nothing to lock.
  void lock_timelines(const std::vector<user_ref>&) override {}

  std::uint64_t next_seq(const user_ref& user) override {
    auto& head = head_of(user);
    heads_before_.try_emplace(user, head);
    return ++head;
  }

  void insert_entry(const chat_message& m, const timeline_entry& entry,
                    std::int64_t expire_at_ms) override {
    statements_->insert.bind(1, m.sdkappid)
        .bind(2, entry.owner())
        .bind(3, as_int(entry.seq))
        .bind(4, entry.flow == message_flow::in ? 0 : 1)
        .bind(5, entry.peer())
        .bind(6, m.from)
        .bind(7, m.to)
        .bind(8, m.text)
        .bind(9, m.client_msg_id)
        .bind(10, m.message_id)
        .bind(11, m.time_ms)
        .bind(12, m.random)
        .bind(13, as_int(m.client_seq))
        .bind(14, m.client_time_s)
        .bind(15, expire_at_ms)
        .bind(16, m.custom ? 1 : 0)
        .bind(17, custom_or_empty(m).data)
        .bind(18, custom_or_empty(m).description)
        .bind(19, custom_or_empty(m).extension)
        .bind(20, m.revoked ? 1 : 0)
        .run();
  }

  std::uint64_t drop_through(const user_ref& user, std::uint64_t seq) override {
    statements_->cap.bind(1, user.sdkappid).bind(2, user.user_id).bind(3, as_int(seq)).run();
    return static_cast<std::uint64_t>(sqlite3_changes(db_));
  }

  std::optional<sent_record> find_sent(std::uint32_t sdkappid, const std::string& sender,
                                       const std::string& client_msg_id) override {
    auto& find = statements_->find_sent;
    find.reset().bind(1, sdkappid).bind(2, sender).bind(3, client_msg_id);
    std::optional<sent_record> out;
    if (find.step())
      out = sent_record{find.text(0), static_cast<std::uint64_t>(find.integer(1)),
                        static_cast<std::uint64_t>(find.integer(2))};
    find.reset();
    return out;
  }

  void insert_sent(const chat_message& m, const sent_record& sent,
                   std::int64_t expire_at_ms) override {
    statements_->note_sent.bind(1, m.sdkappid)
        .bind(2, m.from)
        .bind(3, m.client_msg_id)
        .bind(4, sent.recipient)
        .bind(5, as_int(sent.recipient_seq))
        .bind(6, as_int(sent.sender_seq))
        .bind(7, expire_at_ms)
        .run();
  }

  std::optional<timeline_entry> entry_at(std::uint32_t sdkappid, const std::string& owner,
                                         std::uint64_t seq) override {
    auto& select = statements_->entry_at;
    select.reset().bind(1, sdkappid).bind(2, owner).bind(3, as_int(seq));
    std::optional<timeline_entry> out;
    if (select.step())
      out = sqlite::read_timeline_entry(select, sdkappid);
    select.reset();
    return out;
  }

  std::uint64_t head(const user_ref& user) override { return head_of(user); }

  std::vector<timeline_entry> entries_after(const user_ref& user, std::uint64_t after,
                                            std::int64_t now_ms, std::size_t max_count) override {
    auto& select = statements_->after;
    select.reset()
        .bind(1, user.sdkappid)
        .bind(2, user.user_id)
        .bind(3, as_int(after))
        .bind(4, now_ms)
        .bind(5, as_int(max_count));
    std::vector<timeline_entry> out;
    while (select.step())
      out.push_back(sqlite::read_timeline_entry(select, user.sdkappid));
    select.reset();
    return out;
  }

  std::vector<timeline_entry> conversation(const conversation_query& q,
                                           std::int64_t now_ms) override {
    const std::string sql = std::string("SELECT ") + sqlite::timeline_columns +
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
        .bind(6, now_ms)
        .bind(7, as_int(q.max_count))
        .bind(8, as_int(q.below_seq));
    std::vector<timeline_entry> out;
    while (select.step())
      out.push_back(sqlite::read_timeline_entry(select, q.sdkappid));
    return out;
  }

  void touch_conversations(const std::vector<conversation_touch>& touches) override {
    auto& upsert = statements_->touch_conversation;
    for (const auto& t : touches)
      upsert.bind(1, t.owner.sdkappid)
          .bind(2, t.owner.user_id)
          .bind(3, t.peer)
          .bind(4, as_int(t.last_seq))
          .bind(5, t.last_time_ms)
          .bind(6, as_int(t.added_unread))
          .run();
  }

  // On the caller's thread (sqlite_conversation_readers.hpp).
  bool reads_conversations_on_any_thread() const override { return true; }
  std::vector<conversation_summary> conversations(const user_ref& owner, std::size_t max_count,
                                                  std::int64_t now_ms) override {
    return readers_.conversations(owner, max_count, now_ms);
  }
  std::vector<unread_count> unread_counts(const user_ref& owner, std::size_t max_count,
                                          std::int64_t now_ms) override {
    return readers_.unread_counts(owner, max_count, now_ms);
  }

  std::vector<std::int64_t> read_times(const user_ref& owner,
                                       const std::vector<std::string>& peers) override {
    statement select(db_,
                     "SELECT read_time_ms FROM conversations "
                     "WHERE sdkappid = ?1 AND owner = ?2 AND peer = ?3");
    std::vector<std::int64_t> out;
    for (const auto& peer : peers) {
      select.reset().bind(1, owner.sdkappid).bind(2, peer).bind(3, owner.user_id);
      out.push_back(select.step() ? select.integer(0) : 0);
    }
    return out;
  }

  // The unread count is recounted, not decremented: what came after the
  // mark is in the timeline (a conversation's entries, at most the cap).
  read_mark write_read_mark(const user_ref& owner, const std::string& peer,
                            std::int64_t read_time_ms, std::int64_t now_ms) override {
    sqlite::transaction tx(db_);
    recount_unread(owner, peer, read_time_ms, now_ms);
    statement select(db_,
                     "SELECT read_time_ms, unread FROM conversations "
                     "WHERE sdkappid = ?1 AND owner = ?2 AND peer = ?3");
    select.bind(1, owner.sdkappid).bind(2, owner.user_id).bind(3, peer);
    read_mark mark{read_time_ms, 0};
    if (select.step())
      mark = {select.integer(0), static_cast<std::uint64_t>(select.integer(1))};
    select.reset();
    tx.commit();
    return mark;
  }

  std::vector<timeline_entry> entries_of_message(std::uint32_t sdkappid, const std::string& sender,
                                                 const std::string& recipient,
                                                 const std::string& message_id,
                                                 std::int64_t now_ms) override {
    const std::string sql = std::string("SELECT ") + sqlite::timeline_columns +
                            " FROM timeline WHERE sdkappid = ?1 AND owner IN (?2, ?3)"
                            " AND message_id = ?4 AND sender = ?2 AND recipient = ?3"
                            " AND expire_at_ms >= ?5 ORDER BY flow";
    statement select(db_, sql.c_str());
    select.bind(1, sdkappid).bind(2, sender).bind(3, recipient).bind(4, message_id).bind(5, now_ms);
    std::vector<timeline_entry> out;
    while (select.step())
      out.push_back(sqlite::read_timeline_entry(select, sdkappid));
    return out;
  }

  void write_revoke(const std::vector<timeline_entry>& entries, std::int64_t now_ms) override {
    sqlite::transaction tx(db_);
    statement wipe(db_,
                   "UPDATE timeline SET text = '', custom = 0, custom_data = '', "
                   "custom_description = '', custom_extension = '', revoked = 1 "
                   "WHERE sdkappid = ?1 AND owner = ?2 AND seq = ?3");
    for (const auto& entry : entries)
      wipe.bind(1, entry.message->sdkappid).bind(2, entry.owner()).bind(3, as_int(entry.seq)).run();
    const auto& m = *entries.front().message;
    recount_unread({m.sdkappid, m.to}, m.from, 0, now_ms);  // the mark stays where it is
    tx.commit();
  }

  std::uint64_t delivered(const user_ref& user) override {
    auto& get = statements_->get_delivered;
    get.reset().bind(1, user.sdkappid).bind(2, user.user_id);
    const auto stored = get.step() ? static_cast<std::uint64_t>(get.integer(0)) : 0;
    get.reset();
    return stored;
  }

  void write_delivered(const std::vector<std::pair<user_ref, std::uint64_t>>& marks) override {
    sqlite::transaction tx(db_);
    for (const auto& [user, seq] : marks)
      statements_->set_delivered.bind(1, user.sdkappid)
          .bind(2, user.user_id)
          .bind(3, as_int(seq))
          .run();
    tx.commit();
  }

  std::uint64_t sweep(std::int64_t now_ms) override {
    // The heads of timelines that may lose every entry are kept first:
    // a seq is never reused.
    sqlite::transaction tx(db_);
    statement(db_, R"sql(
      INSERT INTO timeline_heads SELECT sdkappid, owner, MAX(seq) FROM timeline
        WHERE expire_at_ms < ?1 GROUP BY sdkappid, owner
      ON CONFLICT DO UPDATE SET head = MAX(head, excluded.head))sql")
        .bind(1, now_ms)
        .run();
    statement(db_, "DELETE FROM timeline WHERE expire_at_ms < ?1").bind(1, now_ms).run();
    const auto dropped = static_cast<std::uint64_t>(sqlite3_changes(db_));
    statement(db_, "DELETE FROM sent_ids WHERE expire_at_ms < ?1").bind(1, now_ms).run();
    tx.commit();
    return dropped;
  }

 private:
  // The owner's unread count of the conversation with `peer`, counted again
  // from the timeline after the read mark, which moves to `read_time_ms` if
  // that is later. In the caller's transaction.
  void recount_unread(const user_ref& owner, const std::string& peer, std::int64_t read_time_ms,
                      std::int64_t now_ms) {
    statement(db_, R"sql(
      UPDATE conversations SET
        unread = (SELECT COUNT(*) FROM timeline WHERE sdkappid = ?1 AND owner = ?2 AND peer = ?3
                  AND flow = 0 AND sender <> recipient AND revoked = 0 AND expire_at_ms >= ?5
                  AND time_ms > MAX(conversations.read_time_ms, ?4)),
        read_time_ms = MAX(read_time_ms, ?4)
      WHERE sdkappid = ?1 AND owner = ?2 AND peer = ?3)sql")
        .bind(1, owner.sdkappid)
        .bind(2, owner.user_id)
        .bind(3, peer)
        .bind(4, read_time_ms)
        .bind(5, now_ms)
        .run();
  }

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
    statement touch_conversation;
  };

  void prepare() {
    const std::string select_after =
        std::string("SELECT ") + sqlite::timeline_columns +
        " FROM timeline WHERE sdkappid = ?1 AND owner = ?2 AND seq > ?3"
        " AND expire_at_ms >= ?4 ORDER BY seq LIMIT ?5";
    const std::string entry_at_sql =
        std::string("SELECT ") + sqlite::timeline_columns +
        " FROM timeline WHERE sdkappid = ?1 AND owner = ?2 AND seq = ?3";
    statements_.reset(new prepared{
        statement(db_,
                  "INSERT INTO timeline VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                  "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"),
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
        statement(db_,
                  "INSERT INTO conversations VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) "
                  "ON CONFLICT DO UPDATE SET last_seq = MAX(last_seq, ?4), "
                  "last_time_ms = MAX(last_time_ms, ?5), unread = unread + ?6"),
    });
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

  // Copies the WAL into the database from a connection of its own, so that
  // a commit never waits for a checkpoint (PASSIVE: it never blocks the
  // writer either; what it could not copy waits for the next round).
  void checkpoint_periodically() {
    // Below the threads that answer clients: a checkpoint may wait, a send should not.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
    sqlite3* db = nullptr;
    try {
      db = sqlite::open_connection(file_, 1000);
    } catch (const std::exception& e) {
      spdlog::error("store: no checkpointer: {}", e.what());
      return;
    }
    std::unique_lock lock(checkpoint_mutex_);
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

  std::string file_;
  sqlite3* db_ = nullptr;
  sqlite_conversation_readers readers_{file_};
  std::unique_ptr<prepared> statements_;
  // The store thread's: every timeline's last seq, and the ones an open
  // batch changed (restored by rollback).
  std::unordered_map<user_ref, std::uint64_t, user_ref_hash> heads_;
  std::unordered_map<user_ref, std::uint64_t, user_ref_hash> heads_before_;

  std::thread checkpointer_;
  std::mutex checkpoint_mutex_;
  std::condition_variable wake_checkpointer_;
  bool stopping_ = false;
};

}  // namespace

std::unique_ptr<message_store> open_sqlite_message_store(const std::filesystem::path& state_dir) {
  return make_batched_message_store(std::make_unique<sqlite_timeline_tables>(state_dir));
}

}  // namespace chatd
