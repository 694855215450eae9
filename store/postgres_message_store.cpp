// The timelines' tables in PostgreSQL (libpqxx), shared by every node of a
// cluster. A batch first takes an advisory lock on each timeline it appends
// to (in one order everywhere, so no two batches wait in a cycle), reads
// each timeline's head row once, hands out seqs from there, and writes its
// rows with COPY and the new heads with one UPDATE just before the commit:
// a few round trips per batch rather than several per message. Between
// batches nothing is cached: another node's appends are seen by the next
// batch. Texts and clientMsgIDs are bytea (PostgreSQL text cannot hold a
// NUL; a message may). batched_message_store.cpp does the rest.
#include <pqxx/pqxx>

#include <algorithm>
#include <unordered_map>

#include "store/postgres_connection.hpp"
#include "store/timeline_tables.hpp"

namespace chatd {
namespace {

constexpr const char* schema = R"sql(
  CREATE TABLE IF NOT EXISTS chatd_timeline (
    sdkappid BIGINT NOT NULL, owner TEXT NOT NULL, seq BIGINT NOT NULL,
    flow SMALLINT NOT NULL, peer TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
    text BYTEA NOT NULL, client_msg_id BYTEA NOT NULL, message_id TEXT NOT NULL,
    time_ms BIGINT NOT NULL, random BIGINT NOT NULL, client_seq BIGINT NOT NULL,
    client_time BIGINT NOT NULL, expire_at_ms BIGINT NOT NULL,
    PRIMARY KEY (sdkappid, owner, seq));
  ALTER TABLE chatd_timeline ADD COLUMN IF NOT EXISTS custom SMALLINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS custom_data BYTEA NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS custom_description BYTEA NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS custom_extension BYTEA NOT NULL DEFAULT '',
    ADD COLUMN IF NOT EXISTS revoked SMALLINT NOT NULL DEFAULT 0;
  CREATE INDEX IF NOT EXISTS chatd_timeline_by_expiry ON chatd_timeline (expire_at_ms);
  CREATE TABLE IF NOT EXISTS chatd_timeline_heads (
    sdkappid BIGINT NOT NULL, user_id TEXT NOT NULL, head BIGINT NOT NULL,
    PRIMARY KEY (sdkappid, user_id));
  CREATE TABLE IF NOT EXISTS chatd_sent_ids (
    sdkappid BIGINT NOT NULL, sender TEXT NOT NULL, client_msg_id BYTEA NOT NULL,
    recipient TEXT NOT NULL, recipient_seq BIGINT NOT NULL, sender_seq BIGINT NOT NULL,
    expire_at_ms BIGINT NOT NULL,
    PRIMARY KEY (sdkappid, sender, client_msg_id));
  CREATE OR REPLACE FUNCTION chatd_lock_timelines(keys BIGINT[]) RETURNS VOID AS $$
  DECLARE k BIGINT;
  BEGIN
    FOREACH k IN ARRAY keys LOOP PERFORM pg_advisory_xact_lock(k); END LOOP;
  END $$ LANGUAGE plpgsql;
  DO $$ BEGIN
    IF to_regclass('chatd_conversations') IS NULL THEN
      CREATE TABLE chatd_conversations (
        sdkappid BIGINT NOT NULL, owner TEXT NOT NULL, peer TEXT NOT NULL,
        last_seq BIGINT NOT NULL, last_time_ms BIGINT NOT NULL,
        unread BIGINT NOT NULL, read_time_ms BIGINT NOT NULL,
        PRIMARY KEY (sdkappid, owner, peer));
      INSERT INTO chatd_conversations
        SELECT sdkappid, owner, peer, MAX(seq), MAX(time_ms), 0, 0 FROM chatd_timeline
        GROUP BY sdkappid, owner, peer;
    END IF;
  END $$;
  CREATE TABLE IF NOT EXISTS chatd_timeline_delivered (
    sdkappid BIGINT NOT NULL, user_id TEXT NOT NULL, seq BIGINT NOT NULL,
    PRIMARY KEY (sdkappid, user_id));
)sql";

constexpr std::int64_t schema_lock_key = 0x63686174640002;  // "chatd" 2

constexpr const char* columns =
    "seq, flow, sender, recipient, text, client_msg_id, message_id, time_ms, random, "
    "client_seq, client_time, custom, custom_data, custom_description, custom_extension, revoked";

void prepare_statements(pqxx::connection& c) {
  c.prepare("head_for_batch",
            "INSERT INTO chatd_timeline_heads AS h VALUES ($1, $2, 0) "
            "ON CONFLICT (sdkappid, user_id) DO UPDATE SET head = h.head RETURNING head");
  c.prepare("set_heads",
            "UPDATE chatd_timeline_heads AS h SET head = v.head "
            "FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS v(sdkappid, user_id, head) "
            "WHERE h.sdkappid = v.sdkappid AND h.user_id = v.user_id");
  c.prepare("drop_through",
            "DELETE FROM chatd_timeline WHERE sdkappid = $1 AND owner = $2 AND seq <= $3");
  c.prepare("find_sent",
            "SELECT recipient, recipient_seq, sender_seq FROM chatd_sent_ids "
            "WHERE sdkappid = $1 AND sender = $2 AND client_msg_id = $3");
  c.prepare("entry_at", std::string("SELECT ") + columns +
                            " FROM chatd_timeline WHERE sdkappid = $1 AND owner = $2 AND seq = $3");
  c.prepare("head", "SELECT head FROM chatd_timeline_heads WHERE sdkappid = $1 AND user_id = $2");
  c.prepare("entries_after", std::string("SELECT ") + columns +
                                 " FROM chatd_timeline WHERE sdkappid = $1 AND owner = $2 AND "
                                 "seq > $3 AND expire_at_ms >= $4 ORDER BY seq LIMIT $5");
  c.prepare("touch_conversations",
            "INSERT INTO chatd_conversations AS c "
            "SELECT v.sdkappid, v.owner, v.peer, v.last_seq, v.last_time_ms, v.unread, 0 "
            "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], "
            "$6::bigint[]) AS v(sdkappid, owner, peer, last_seq, last_time_ms, unread) "
            "ON CONFLICT (sdkappid, owner, peer) DO UPDATE SET "
            "last_seq = GREATEST(c.last_seq, EXCLUDED.last_seq), "
            "last_time_ms = GREATEST(c.last_time_ms, EXCLUDED.last_time_ms), "
            "unread = c.unread + EXCLUDED.unread");
  // The owner's unread count of a conversation, counted again from the
  // timeline after the read mark, which moves to $4 if that is later.
  c.prepare("recount_unread", R"sql(
    UPDATE chatd_conversations AS c SET
      unread = (SELECT COUNT(*) FROM chatd_timeline t WHERE t.sdkappid = $1 AND t.owner = $2
                AND t.peer = $3 AND t.flow = 0 AND t.sender <> t.recipient AND t.revoked = 0
                AND t.expire_at_ms >= $5 AND t.time_ms > GREATEST(c.read_time_ms, $4)),
      read_time_ms = GREATEST(c.read_time_ms, $4)
    WHERE c.sdkappid = $1 AND c.owner = $2 AND c.peer = $3
    RETURNING read_time_ms, unread)sql");
  c.prepare("read_time",
            "SELECT read_time_ms FROM chatd_conversations "
            "WHERE sdkappid = $1 AND owner = $2 AND peer = $3");
  c.prepare("delivered",
            "SELECT seq FROM chatd_timeline_delivered WHERE sdkappid = $1 AND user_id = $2");
  c.prepare("set_delivered",
            "INSERT INTO chatd_timeline_delivered AS d VALUES ($1, $2, $3) "
            "ON CONFLICT (sdkappid, user_id) DO UPDATE SET seq = GREATEST(d.seq, EXCLUDED.seq)");
}

// A timeline's advisory lock key: FNV-1a 64 of "sdkappid:user", the same on
// every node.
std::int64_t lock_key(const user_ref& user) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : std::to_string(user.sdkappid) + ':' + user.user_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(h);
}

pqxx::binarystring bytes(const std::string& s) {
  return pqxx::binarystring(s.data(), s.size());
}

// bytea in COPY's text format: "\x" and hex digits.
std::string hex_bytea(const std::string& s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + 2 * s.size());
  for (const unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string bytes_of(const pqxx::field& f) {
  return pqxx::binarystring(f).str();
}

// Reads one row selected with `columns` (sdkappid given) into an entry.
timeline_entry read_entry(const pqxx::row& row, std::uint32_t sdkappid) {
  auto message = std::make_shared<chat_message>();
  message->sdkappid = sdkappid;
  message->from = row[2].as<std::string>();
  message->to = row[3].as<std::string>();
  message->text = bytes_of(row[4]);
  message->client_msg_id = bytes_of(row[5]);
  message->message_id = row[6].as<std::string>();
  message->time_ms = row[7].as<std::int64_t>();
  message->random = static_cast<std::uint32_t>(row[8].as<std::int64_t>());
  message->client_seq = static_cast<std::uint64_t>(row[9].as<std::int64_t>());
  message->client_time_s = row[10].as<std::int64_t>();
  if (row[11].as<int>() != 0)
    message->custom = custom_element{bytes_of(row[12]), bytes_of(row[13]), bytes_of(row[14])};
  message->revoked = row[15].as<int>() != 0;
  const auto flow = row[1].as<int>() == 0 ? message_flow::in : message_flow::out;
  return timeline_entry{row[0].as<std::uint64_t>(), flow, std::move(message)};
}

std::vector<timeline_entry> entries_of(const pqxx::result& rows, std::uint32_t sdkappid) {
  std::vector<timeline_entry> out;
  out.reserve(rows.size());
  for (const auto& row : rows)
    out.push_back(read_entry(row, sdkappid));
  return out;
}

class postgres_timeline_tables final : public timeline_tables {
  // Defined first: their return types are deduced.
  template <class F>
  decltype(auto) in_batch(F&& f) {
    return db_.guarded([&]() -> decltype(auto) { return f(*batch_); });
  }

  template <class F>
  decltype(auto) read(F&& f) {
    return db_.guarded([&]() -> decltype(auto) {
      pqxx::nontransaction tx(db_.get());
      return f(tx);
    });
  }

 public:
  explicit postgres_timeline_tables(std::string url) : db_(std::move(url), prepare_statements) {
    // A batch's transaction ends before a broken connection is dropped.
    db_.before_drop([this] { batch_.reset(); });
    create_schema(db_.get(), schema_lock_key, schema);
  }

  std::uint64_t count_entries() override {
    return read([&](pqxx::nontransaction& tx) {
      return tx.exec1("SELECT COUNT(*) FROM chatd_timeline")[0].as<std::uint64_t>();
    });
  }

  void begin() override {
    db_.guarded([&] { batch_ = std::make_unique<pqxx::work>(db_.get()); });
    heads_.clear();
    pending_.clear();
  }

  void commit() override {
    db_.guarded([&] {
      write_pending(*batch_);
      write_heads(*batch_);
      batch_->commit();
      batch_.reset();
    });
  }

  void rollback() noexcept override {
    batch_.reset();  // aborts, if it was still open
    heads_.clear();
    pending_.clear();
    db_.drop_if_broken();
  }

  // Sorted keys, locked one after the other by chatd_lock_timelines.
  void lock_timelines(const std::vector<user_ref>& users) override {
    std::vector<std::int64_t> keys;
    keys.reserve(users.size());
    for (const auto& user : users)
      keys.push_back(lock_key(user));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    in_batch([&](pqxx::work& tx) {
      tx.exec_params("SELECT chatd_lock_timelines($1)", number_array(keys));
    });
  }

  // The head row is read once per batch (its timeline is locked: nobody
  // else moves it until the commit); the seqs count on from there.
  std::uint64_t next_seq(const user_ref& user) override {
    auto it = heads_.find(user);
    if (it == heads_.end()) {
      const auto head = in_batch([&](pqxx::work& tx) {
        return tx.exec_prepared1("head_for_batch", std::int64_t{user.sdkappid}, user.user_id)[0]
            .as<std::uint64_t>();
      });
      it = heads_.emplace(user, head).first;
    }
    return ++it->second;
  }

  // Kept until the commit (or a drop_through) writes them with COPY.
  void insert_entry(const chat_message&, const timeline_entry& entry,
                    std::int64_t expire_at_ms) override {
    pending_.entries.push_back({entry, expire_at_ms});
  }

  std::uint64_t drop_through(const user_ref& user, std::uint64_t seq) override {
    return in_batch([&](pqxx::work& tx) {
      write_pending(tx);  // what it drops may still be pending
      return static_cast<std::uint64_t>(
          tx.exec_prepared("drop_through", std::int64_t{user.sdkappid}, user.user_id, as_int(seq))
              .affected_rows());
    });
  }

  std::optional<sent_record> find_sent(std::uint32_t sdkappid, const std::string& sender,
                                       const std::string& client_msg_id) override {
    // A retry within this batch.
    if (auto it = pending_.sent.find(sent_key(sdkappid, sender, client_msg_id));
        it != pending_.sent.end())
      return it->second.record;
    return in_batch([&](pqxx::work& tx) -> std::optional<sent_record> {
      const auto rows =
          tx.exec_prepared("find_sent", std::int64_t{sdkappid}, sender, bytes(client_msg_id));
      if (rows.empty())
        return std::nullopt;
      return sent_record{rows[0][0].as<std::string>(), rows[0][1].as<std::uint64_t>(),
                         rows[0][2].as<std::uint64_t>()};
    });
  }

  void insert_sent(const chat_message& m, const sent_record& sent,
                   std::int64_t expire_at_ms) override {
    pending_.sent.insert_or_assign(
        sent_key(m.sdkappid, m.from, m.client_msg_id),
        pending_sent{m.sdkappid, m.from, m.client_msg_id, sent, expire_at_ms});
  }

  std::optional<timeline_entry> entry_at(std::uint32_t sdkappid, const std::string& owner,
                                         std::uint64_t seq) override {
    for (const auto& pending : pending_.entries)
      if (pending.entry.seq == seq && pending.entry.message->sdkappid == sdkappid &&
          pending.entry.owner() == owner)
        return pending.entry;
    return in_batch([&](pqxx::work& tx) -> std::optional<timeline_entry> {
      const auto rows = tx.exec_prepared("entry_at", std::int64_t{sdkappid}, owner, as_int(seq));
      if (rows.empty())
        return std::nullopt;
      return read_entry(rows[0], sdkappid);
    });
  }

  std::uint64_t head(const user_ref& user) override {
    return read([&](pqxx::nontransaction& tx) {
      const auto rows = tx.exec_prepared("head", std::int64_t{user.sdkappid}, user.user_id);
      return rows.empty() ? std::uint64_t{0} : rows[0][0].as<std::uint64_t>();
    });
  }

  std::vector<timeline_entry> entries_after(const user_ref& user, std::uint64_t after,
                                            std::int64_t now_ms, std::size_t max_count) override {
    return read([&](pqxx::nontransaction& tx) {
      return entries_of(tx.exec_prepared("entries_after", std::int64_t{user.sdkappid}, user.user_id,
                                         as_int(after), now_ms, as_int(max_count)),
                        user.sdkappid);
    });
  }

  std::vector<timeline_entry> conversation(const conversation_query& q,
                                           std::int64_t now_ms) override {
    const std::string sql = std::string("SELECT ") + columns +
                            " FROM chatd_timeline WHERE sdkappid = $1 AND owner = $2 AND "
                            "peer = $3 AND time_ms BETWEEN $4 AND $5 AND expire_at_ms >= $6 "
                            "AND seq < $8 ORDER BY seq " +
                            (q.newest_first ? "DESC" : "ASC") + " LIMIT $7";
    return read([&](pqxx::nontransaction& tx) {
      return entries_of(
          tx.exec_params(sql, std::int64_t{q.sdkappid}, q.owner, q.peer, q.min_time_ms,
                         q.max_time_ms, now_ms, as_int(q.max_count), as_int(q.below_seq)),
          q.sdkappid);
    });
  }

  // One statement for the batch; the rows' owners' timelines are locked by
  // this batch, so no other batch touches them meanwhile.
  void touch_conversations(const std::vector<conversation_touch>& touches) override {
    if (touches.empty())
      return;
    std::vector<std::int64_t> apps, seqs, times, unread;
    std::vector<std::string> owners, peers;
    for (const auto& t : touches) {
      apps.push_back(t.owner.sdkappid);
      owners.push_back(t.owner.user_id);
      peers.push_back(t.peer);
      seqs.push_back(as_int(t.last_seq));
      times.push_back(t.last_time_ms);
      unread.push_back(as_int(t.added_unread));
    }
    in_batch([&](pqxx::work& tx) {
      tx.exec_prepared0("touch_conversations", number_array(apps), text_array(owners),
                        text_array(peers), number_array(seqs), number_array(times),
                        number_array(unread));
    });
  }

  std::vector<conversation_summary> conversations(const user_ref& owner, std::size_t max_count,
                                                  std::int64_t now_ms) override {
    const std::string sql =
        std::string("SELECT ") + columns +
        ", c.peer, c.unread, c.read_time_ms, COALESCE(p.read_time_ms, 0)"
        " FROM chatd_conversations c JOIN chatd_timeline t"
        " ON t.sdkappid = c.sdkappid AND t.owner = c.owner AND t.seq = c.last_seq"
        " LEFT JOIN chatd_conversations p"
        " ON p.sdkappid = c.sdkappid AND p.owner = c.peer AND p.peer = c.owner"
        " WHERE c.sdkappid = $1 AND c.owner = $2 AND t.expire_at_ms >= $3"
        " ORDER BY c.last_seq DESC LIMIT $4";
    return read([&](pqxx::nontransaction& tx) {
      std::vector<conversation_summary> out;
      for (const auto& row : tx.exec_params(sql, std::int64_t{owner.sdkappid}, owner.user_id,
                                            now_ms, as_int(max_count)))
        out.push_back({row[16].as<std::string>(), read_entry(row, owner.sdkappid),
                       row[17].as<std::uint64_t>(), row[18].as<std::int64_t>(),
                       row[19].as<std::int64_t>()});
      return out;
    });
  }

  std::vector<unread_count> unread_counts(const user_ref& owner, std::size_t max_count,
                                          std::int64_t now_ms) override {
    return read([&](pqxx::nontransaction& tx) {
      std::vector<unread_count> out;
      for (const auto& row :
           tx.exec_params("SELECT c.peer, c.unread FROM chatd_conversations c JOIN chatd_timeline t"
                          " ON t.sdkappid = c.sdkappid AND t.owner = c.owner AND t.seq = c.last_seq"
                          " WHERE c.sdkappid = $1 AND c.owner = $2 AND c.unread > 0"
                          " AND t.expire_at_ms >= $3 ORDER BY c.last_seq DESC LIMIT $4",
                          std::int64_t{owner.sdkappid}, owner.user_id, now_ms, as_int(max_count)))
        out.push_back({row[0].as<std::string>(), row[1].as<std::uint64_t>()});
      return out;
    });
  }

  std::vector<std::int64_t> read_times(const user_ref& owner,
                                       const std::vector<std::string>& peers) override {
    return read([&](pqxx::nontransaction& tx) {
      std::vector<std::int64_t> out;
      for (const auto& peer : peers) {
        const auto rows =
            tx.exec_prepared("read_time", std::int64_t{owner.sdkappid}, peer, owner.user_id);
        out.push_back(rows.empty() ? 0 : rows[0][0].as<std::int64_t>());
      }
      return out;
    });
  }

  // Recounted from the timeline after the mark, in one statement.
  read_mark write_read_mark(const user_ref& owner, const std::string& peer,
                            std::int64_t read_time_ms, std::int64_t now_ms) override {
    return db_.guarded([&] {
      pqxx::work tx(db_.get());
      const auto rows = tx.exec_prepared("recount_unread", std::int64_t{owner.sdkappid},
                                         owner.user_id, peer, read_time_ms, now_ms);
      tx.commit();
      if (rows.empty())
        return read_mark{read_time_ms, 0};
      return read_mark{rows[0][0].as<std::int64_t>(), rows[0][1].as<std::uint64_t>()};
    });
  }

  std::vector<timeline_entry> entries_of_message(std::uint32_t sdkappid, const std::string& sender,
                                                 const std::string& recipient,
                                                 const std::string& message_id,
                                                 std::int64_t now_ms) override {
    const std::string sql = std::string("SELECT ") + columns +
                            " FROM chatd_timeline WHERE sdkappid = $1 AND owner IN ($2, $3)"
                            " AND message_id = $4 AND sender = $2 AND recipient = $3"
                            " AND expire_at_ms >= $5 ORDER BY flow";
    return read([&](pqxx::nontransaction& tx) {
      return entries_of(
          tx.exec_params(sql, std::int64_t{sdkappid}, sender, recipient, message_id, now_ms),
          sdkappid);
    });
  }

  // Under the timelines' locks, as a batch: no append moves them meanwhile.
  void write_revoke(const std::vector<timeline_entry>& entries, std::int64_t now_ms) override {
    const auto& m = *entries.front().message;
    std::vector<std::int64_t> keys{lock_key({m.sdkappid, m.from}), lock_key({m.sdkappid, m.to})};
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    db_.guarded([&] {
      pqxx::work tx(db_.get());
      tx.exec_params("SELECT chatd_lock_timelines($1)", number_array(keys));
      for (const auto& entry : entries)
        tx.exec_params(
            "UPDATE chatd_timeline SET text = ''::bytea, custom = 0, custom_data = ''::bytea, "
            "custom_description = ''::bytea, custom_extension = ''::bytea, revoked = 1 "
            "WHERE sdkappid = $1 AND owner = $2 AND seq = $3",
            std::int64_t{m.sdkappid}, entry.owner(), as_int(entry.seq));
      // The mark stays where it is (a mark is never below 0).
      tx.exec_prepared("recount_unread", std::int64_t{m.sdkappid}, m.to, m.from, std::int64_t{0},
                       now_ms);
      tx.commit();
    });
  }

  std::uint64_t delivered(const user_ref& user) override {
    return read([&](pqxx::nontransaction& tx) {
      const auto rows = tx.exec_prepared("delivered", std::int64_t{user.sdkappid}, user.user_id);
      return rows.empty() ? std::uint64_t{0} : rows[0][0].as<std::uint64_t>();
    });
  }

  void write_delivered(const std::vector<std::pair<user_ref, std::uint64_t>>& marks) override {
    db_.guarded([&] {
      pqxx::work tx(db_.get());
      for (const auto& [user, seq] : marks)
        tx.exec_prepared0("set_delivered", std::int64_t{user.sdkappid}, user.user_id, as_int(seq));
      tx.commit();
    });
  }

  // Every timeline's head row is kept by next_seq: dropping entries never
  // lets a seq be reused.
  std::uint64_t sweep(std::int64_t now_ms) override {
    return db_.guarded([&] {
      pqxx::work tx(db_.get());
      const auto dropped =
          tx.exec_params("DELETE FROM chatd_timeline WHERE expire_at_ms < $1", now_ms)
              .affected_rows();
      tx.exec_params("DELETE FROM chatd_sent_ids WHERE expire_at_ms < $1", now_ms);
      tx.commit();
      return static_cast<std::uint64_t>(dropped);
    });
  }

 private:
  struct pending_entry {
    timeline_entry entry;
    std::int64_t expire_at_ms = 0;
  };
  struct pending_sent {
    std::uint32_t sdkappid = 0;
    std::string sender;
    std::string client_msg_id;
    sent_record record;
    std::int64_t expire_at_ms = 0;
  };
  // userIDs are printable ASCII: the NULs separate the parts unambiguously.
  static std::string sent_key(std::uint32_t sdkappid, const std::string& sender,
                              const std::string& client_msg_id) {
    return std::to_string(sdkappid) + '\0' + sender + '\0' + client_msg_id;
  }
  struct pending_rows {
    std::vector<pending_entry> entries;
    std::unordered_map<std::string, pending_sent> sent;  // by sent_key
    void clear() {
      entries.clear();
      sent.clear();
    }
  };

  void write_pending(pqxx::work& tx) {
    if (!pending_.entries.empty()) {
      pqxx::stream_to copy(tx, "chatd_timeline");
      for (const auto& [entry, expire_at_ms] : pending_.entries) {
        const auto& m = *entry.message;
        copy << std::make_tuple(
            std::int64_t{m.sdkappid}, entry.owner(), as_int(entry.seq),
            entry.flow == message_flow::in ? 0 : 1, entry.peer(), m.from, m.to, hex_bytea(m.text),
            hex_bytea(m.client_msg_id), m.message_id, m.time_ms, std::int64_t{m.random},
            as_int(m.client_seq), m.client_time_s, expire_at_ms, m.custom ? 1 : 0,
            hex_bytea(custom_or_empty(m).data), hex_bytea(custom_or_empty(m).description),
            hex_bytea(custom_or_empty(m).extension), m.revoked ? 1 : 0);
      }
      copy.complete();
    }
    if (!pending_.sent.empty()) {
      pqxx::stream_to copy(tx, "chatd_sent_ids");
      for (const auto& [key, sent] : pending_.sent)
        copy << std::make_tuple(std::int64_t{sent.sdkappid}, sent.sender,
                                hex_bytea(sent.client_msg_id), sent.record.recipient,
                                as_int(sent.record.recipient_seq), as_int(sent.record.sender_seq),
                                sent.expire_at_ms);
      copy.complete();
    }
    pending_.clear();
  }

  void write_heads(pqxx::work& tx) {
    if (heads_.empty())
      return;
    std::vector<std::int64_t> apps;
    std::vector<std::string> users;
    std::vector<std::int64_t> heads;
    for (const auto& [user, head] : heads_) {
      apps.push_back(user.sdkappid);
      users.push_back(user.user_id);
      heads.push_back(as_int(head));
    }
    tx.exec_prepared0("set_heads", number_array(apps), text_array(users), number_array(heads));
    heads_.clear();
  }

  postgres_connection db_;
  std::unique_ptr<pqxx::work> batch_;
  // The open batch's: each timeline's last seq handed out, and the rows
  // not written yet.
  std::unordered_map<user_ref, std::uint64_t, user_ref_hash> heads_;
  pending_rows pending_;
};

}  // namespace

std::unique_ptr<message_store> open_postgres_message_store(const std::string& url) {
  return open_postgres(url, "timelines", [&] {
    return make_batched_message_store(std::make_unique<postgres_timeline_tables>(url));
  });
}

}  // namespace chatd
