#include "store/sqlite_conversation_readers.hpp"

#include <algorithm>

#include "store/sqlite_timeline_rows.hpp"

namespace chatd {
namespace {

using sqlite::statement;

// Columns: the entry's, then peer, unread, read time, the peer's read
// time, and whether the entry is live (not expired, not swept).
std::string summary_select() {
  return std::string("SELECT ") + sqlite::timeline_columns +
         ", c.peer, c.unread, c.read_time_ms, COALESCE(p.read_time_ms, 0),"
         " t.seq IS NOT NULL AND t.expire_at_ms >= ?3 FROM ";
}

constexpr const char* peer_read_join =
    " LEFT JOIN conversations p"
    " ON p.sdkappid = c.sdkappid AND p.owner = c.peer AND p.peer = c.owner";

// The newest rows picked (and sorted) before the joins, so that the sort
// handles narrow rows, not the joined ones with their message text (11%
// of the query at 500 rows).
std::string newest_sql() {
  return summary_select() +
         "(SELECT sdkappid, owner, peer, last_seq, unread, read_time_ms FROM conversations"
         " WHERE sdkappid = ?1 AND owner = ?2 ORDER BY last_seq DESC LIMIT ?4) c"
         " LEFT JOIN timeline t"
         " ON t.sdkappid = c.sdkappid AND t.owner = c.owner AND t.seq = c.last_seq" +
         peer_read_join;
}

// The exact query: the live rows first, then the newest of them.
std::string live_sql() {
  return summary_select() + "conversations c JOIN timeline t" +
         " ON t.sdkappid = c.sdkappid AND t.owner = c.owner AND t.seq = c.last_seq" +
         peer_read_join +
         " WHERE c.sdkappid = ?1 AND c.owner = ?2 AND t.expire_at_ms >= ?3"
         " ORDER BY c.last_seq DESC LIMIT ?4";
}

// The rows with something unread, and live: only those rows' last entries
// are looked up.
constexpr const char* unread_sql =
    "SELECT c.peer, c.unread FROM conversations c JOIN timeline t"
    " ON t.sdkappid = c.sdkappid AND t.owner = c.owner AND t.seq = c.last_seq"
    " WHERE c.sdkappid = ?1 AND c.owner = ?2 AND c.unread > 0 AND t.expire_at_ms >= ?3"
    " ORDER BY c.last_seq DESC LIMIT ?4";

// Every query here takes the same four parameters: ?1 app, ?2 owner,
// ?3 now (ms), ?4 the most rows.
statement& bind_owner(statement& select, const user_ref& owner, std::size_t max_count,
                      std::int64_t now_ms) {
  return select.reset()
      .bind(1, owner.sdkappid)
      .bind(2, owner.user_id)
      .bind(3, now_ms)
      .bind(4, as_int(max_count));
}

// Declared before its statements, so closed after them.
struct owned_connection {
  explicit owned_connection(const std::string& file) : db(sqlite::open_connection(file, 5000)) {
    try {
      // Per connection, as the store's own has them; and never a write.
      sqlite::exec_sql(db,
                       "PRAGMA cache_size=-8192; PRAGMA mmap_size=268435456; "
                       "PRAGMA query_only=1;");
    } catch (...) {
      sqlite3_close(db);
      throw;
    }
  }
  ~owned_connection() { sqlite3_close(db); }
  owned_connection(const owned_connection&) = delete;
  owned_connection& operator=(const owned_connection&) = delete;
  sqlite3* db;
};

}  // namespace

struct sqlite_conversation_readers::reader {
  explicit reader(const std::string& file)
      : connection(file),
        newest(connection.db, newest_sql().c_str()),
        live(connection.db, live_sql().c_str()),
        unread(connection.db, unread_sql) {}

  std::vector<conversation_summary> read(statement& select, const user_ref& owner,
                                         std::size_t max_count, std::int64_t now_ms,
                                         std::size_t& rows) {
    bind_owner(select, owner, max_count, now_ms);
    std::vector<conversation_summary> out;
    for (rows = 0; select.step(); ++rows)
      if (select.integer(20) != 0)
        out.push_back({select.text(16), sqlite::read_timeline_entry(select, owner.sdkappid),
                       static_cast<std::uint64_t>(select.integer(17)), select.integer(18),
                       select.integer(19)});
    select.reset();  // ends the read transaction
    // Joins keep the order of the rows they scan, but SQL does not promise it.
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.last.seq > b.last.seq; });
    return out;
  }

  owned_connection connection;
  statement newest;
  statement live;
  statement unread;
};

sqlite_conversation_readers::sqlite_conversation_readers(std::string file)
    : file_(std::move(file)) {}

sqlite_conversation_readers::~sqlite_conversation_readers() = default;

// A row whose last entry expired is left out; should that leave a full
// list short, the exact query answers instead.
std::vector<conversation_summary> sqlite_conversation_readers::conversations(const user_ref& owner,
                                                                             std::size_t max_count,
                                                                             std::int64_t now_ms) {
  auto r = take();
  std::size_t rows = 0;
  auto out = r->read(r->newest, owner, max_count, now_ms, rows);
  if (rows == max_count && out.size() < max_count)
    out = r->read(r->live, owner, max_count, now_ms, rows);
  give_back(std::move(r));
  return out;
}

std::vector<unread_count> sqlite_conversation_readers::unread_counts(const user_ref& owner,
                                                                     std::size_t max_count,
                                                                     std::int64_t now_ms) {
  auto r = take();
  auto& select = bind_owner(r->unread, owner, max_count, now_ms);
  std::vector<unread_count> out;
  while (select.step())
    out.push_back({select.text(0), static_cast<std::uint64_t>(select.integer(1))});
  select.reset();
  give_back(std::move(r));
  return out;
}

std::unique_ptr<sqlite_conversation_readers::reader> sqlite_conversation_readers::take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto r = std::move(idle_.back());
      idle_.pop_back();
      return r;
    }
  }
  return std::make_unique<reader>(file_);
}

void sqlite_conversation_readers::give_back(std::unique_ptr<reader> r) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(r));
}

}  // namespace chatd
