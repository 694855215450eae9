// The store backends the shared suite runs on: SQLite in a fresh folder, and
// PostgreSQL in a fresh database of the test server (tests/postgres/postgres.sh,
// started once by CTest's `postgres` fixture; its URL is in the file named
// by CHATD_TEST_POSTGRES_STATE).
#pragma once

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <pqxx/pqxx>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include "store/message_store.hpp"
#include "store/state_store.hpp"

namespace chatd::test {

inline std::string random_suffix() {
  return std::to_string(std::random_device{}()) + std::to_string(std::random_device{}());
}

struct sqlite_backend {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("chatd-store-suite-" + random_suffix());
  ~sqlite_backend() { std::filesystem::remove_all(dir); }
  std::unique_ptr<state_store> open_state() { return open_sqlite_store(dir); }
  std::unique_ptr<message_store> open_messages() { return open_sqlite_message_store(dir); }
  // Runs SQL on the timelines' file, as an older chatd would have.
  void sql(const std::string& statements) {
    std::filesystem::create_directories(dir);
    sqlite3* db = nullptr;
    sqlite3_open((dir / "timelines.sqlite3").c_str(), &db);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &error);
    const std::string why = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    if (rc != SQLITE_OK)
      throw std::runtime_error("sqlite: " + why);
  }
};

// The test server's admin URL ("postgresql://chatd@127.0.0.1:PORT/postgres").
inline std::string postgres_admin_url() {
  const char* state = std::getenv("CHATD_TEST_POSTGRES_STATE");
  if (state == nullptr)
    throw std::runtime_error("CHATD_TEST_POSTGRES_STATE is not set: run through ctest");
  std::ifstream in(state);
  std::string url;
  if (!(in >> url))
    throw std::runtime_error(std::string("no PostgreSQL test server in ") + state);
  return url;
}

struct postgres_backend {
  std::string admin_url = postgres_admin_url();
  std::string name = "chatd_test_" + random_suffix();
  std::string url = admin_url.substr(0, admin_url.rfind('/') + 1) + name;

  postgres_backend() { admin("CREATE DATABASE " + name); }
  ~postgres_backend() {
    try {
      admin("DROP DATABASE " + name + " WITH (FORCE)");
    } catch (const std::exception&) {
    }
  }
  std::unique_ptr<state_store> open_state() { return open_postgres_store(url); }
  std::unique_ptr<message_store> open_messages() { return open_postgres_message_store(url); }

  // Ends every connection to the test database, as a server restart would.
  void cut_connections() {
    admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name +
          "' AND pid <> pg_backend_pid()");
  }

  // Runs SQL in the test database, as an older chatd would have.
  void sql(const std::string& statements) {
    pqxx::connection c(url);
    pqxx::nontransaction tx(c);
    tx.exec(statements);
  }

  void admin(const std::string& sql) {
    pqxx::connection c(admin_url);
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  }
};

}  // namespace chatd::test

TYPE_TO_STRING(chatd::test::sqlite_backend);
TYPE_TO_STRING(chatd::test::postgres_backend);
