// Internal to store/: one libpqxx connection that is opened again after a
// loss (a server restart, a fail-over). The call that met the loss fails
// (its caller does not acknowledge anything); the next call reconnects.
// Statements are prepared again on every new connection.
#pragma once

#include <pqxx/pqxx>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/postgres_url.hpp"

namespace chatd {

class postgres_connection {
 public:
  // `prepare` runs on each new connection (conn.prepare(name, sql) calls).
  postgres_connection(std::string url, std::function<void(pqxx::connection&)> prepare = {})
      : url_(std::move(url)), prepare_(std::move(prepare)) {}

  pqxx::connection& get() {
    if (!db_) {
      db_ = std::make_unique<pqxx::connection>(url_);
      if (prepare_)
        prepare_(*db_);
    }
    return *db_;
  }

  // What must end before the connection goes: a transaction kept open
  // across calls (a batch) refers to it, and its destructor would use a
  // freed connection.
  void before_drop(std::function<void()> release) { before_drop_ = std::move(release); }

  // Runs f; a connection that broke on the way is dropped (and the error
  // rethrown).
  template <class F>
  decltype(auto) guarded(F&& f) {
    try {
      return f();
    } catch (const pqxx::broken_connection&) {
      drop();
      throw;
    } catch (...) {
      drop_if_broken();
      throw;
    }
  }

  // After a failed transaction: a connection that is no longer open goes.
  void drop_if_broken() noexcept {
    if (db_ && !db_->is_open())
      drop();
  }

  const std::string& url() const { return url_; }

 private:
  void drop() noexcept {
    if (before_drop_)
      before_drop_();
    db_.reset();
  }

  std::string url_;
  std::function<void(pqxx::connection&)> prepare_;
  std::function<void()> before_drop_;
  std::unique_ptr<pqxx::connection> db_;
};

// A PostgreSQL array literal of texts ("{\"a\",\"b\"}"), for a $n::text[] parameter.
inline std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1)
      out += ',';
    out += '"';
    for (const char c : item) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// A PostgreSQL array literal of numbers, "{1,2,3}", for a $n::bigint[] parameter.
template <class T>
std::string number_array(const std::vector<T>& items) {
  std::string out = "{";
  for (const auto& item : items)
    out += (out.size() > 1 ? "," : "") + std::to_string(item);
  return out + "}";
}

// Creates chatd's tables (idempotent DDL) under an advisory lock: several
// nodes may start at once, and CREATE ... IF NOT EXISTS races otherwise.
inline void create_schema(pqxx::connection& c, std::int64_t lock_key, const char* schema) {
  pqxx::work tx(c);
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", lock_key);
  tx.exec(schema);
  tx.commit();
}

// Opens and wraps errors in std::runtime_error naming the (redacted) URL.
template <class F>
auto open_postgres(const std::string& url, const char* what, F&& open) {
  try {
    return open();
  } catch (const pqxx::failure& e) {
    throw std::runtime_error(std::string("cannot open the PostgreSQL ") + what + " at " +
                             redact_password(url) + ": " + e.what());
  }
}

}  // namespace chatd
