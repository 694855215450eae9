// Internal to store/: a small RAII wrapper of the sqlite3 C API, written by
// hand because the allowed Debian packages carry no C++ wrapper for SQLite.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace chatd::sqlite {

class statement {
 public:
  statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  statement& bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  template <class T>
  statement& bind(int i, const std::optional<T>& v) {
    if (v)
      return bind(i, *v);
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // One step; true while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string("sqlite step: ") + sqlite3_errmsg(db_));
    return false;
  }
  // One step that returns no row; the statement is ready for reuse after,
  // whether it succeeded or not.
  void run() {
    try {
      step();
    } catch (...) {
      sqlite3_reset(stmt_);
      throw;
    }
    sqlite3_reset(stmt_);
  }
  // Ready to bind and step again (after reading rows).
  statement& reset() {
    sqlite3_reset(stmt_);
    return *this;
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Opens (creating) `file` in SQLite's multi-thread mode: chatd never uses a
// connection from two threads at once (each has one owner thread, or a lock
// of ours around it), so SQLite's own mutex, taken around every call down
// to each column read, is left out. Throws std::runtime_error.
// Before the first: SQLite's count of its own memory use is off, as SQLite
// advises for speed (every allocation of every connection took a global
// mutex for it).
inline sqlite3* open_connection(const std::string& file, int busy_timeout_ms) {
  [[maybe_unused]] static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(file.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    const std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + file + ": " + why);
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return db;
}

inline void exec_sql(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errmsg(db);
    sqlite3_free(error);
    throw std::runtime_error("sqlite: " + message);
  }
}

// Rolls back unless committed: a failure in the middle of a batch never
// leaves the connection inside an open transaction (which would make every
// later write fail).
class transaction {
 public:
  explicit transaction(sqlite3* db) : db_(db) { exec_sql(db_, "BEGIN"); }
  ~transaction() {
    if (!committed_)
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  void commit() {
    exec_sql(db_, "COMMIT");
    committed_ = true;
  }

 private:
  sqlite3* db_;
  bool committed_ = false;
};

}  // namespace chatd::sqlite
