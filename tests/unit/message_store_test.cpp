// The embedded timelines on a full disk (SQLite only; everything else is
// tests/store/message_store_suite.cpp, run on both backends).
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include <sqlite3.h>
#include "../store/timeline_helpers.hpp"
#include "full_disk.hpp"
#include "store/message_store.hpp"

using namespace chatd;
using namespace chatd::test;

namespace {

std::filesystem::path fresh_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("chatd-timeline-test-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("a full disk: a send is refused, never acknowledged, and no seq is lost or reused") {
  const auto dir = fresh_dir();
  auto store = open_sqlite_message_store(dir);
  REQUIRE(append_now(*store, text_message("alice", "bob", "before"))->recipient.seq == 1);
  {
    full_disk full(dir);
    int refused = 0;
    for (int i = 0; i < 50; ++i)
      if (!append_now(*store, text_message("alice", "bob", std::string(4000, 'x'))))
        ++refused;
    CHECK(refused > 0);
    CHECK(store->write_failures() > 0);
  }
  const auto after = append_now(*store, text_message("alice", "bob", "after"));
  REQUIRE(after);
  const auto page = read_now(*store, "bob", 0, 1000);
  REQUIRE(page.entries.back().seq == after->recipient.seq);
  for (std::size_t i = 0; i < page.entries.size(); ++i)
    CHECK(page.entries[i].seq == i + 1);  // gap-free: refused sends took no seq
}

TEST_CASE("a row written from outside at the next seq fails one send, then the timeline goes on") {
  const auto dir = fresh_dir();
  auto store = open_sqlite_message_store(dir);
  REQUIRE(append_now(*store, text_message("alice", "bob", "first"))->recipient.seq == 1);
  {
    // Another writer on the same files (a second chatd, a hand edit) takes seq 2.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir / "timelines.sqlite3").c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    REQUIRE(sqlite3_exec(db,
                         "INSERT INTO timeline (sdkappid, owner, seq, flow, peer, sender, "
                         "recipient, text, client_msg_id, message_id, time_ms, random, "
                         "client_seq, client_time, expire_at_ms) VALUES (1, 'bob', 2, 0, "
                         "'mallory', 'mallory', 'bob', 'from outside', 'x', 'x', 0, 0, 0, 0, "
                         "9e15)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  // The send that meets the conflict is refused (not acknowledged) ...
  CHECK_FALSE(append_now(*store, text_message("alice", "bob", "clash")));
  // ... and the next ones are written after the row from outside, not refused until a restart.
  const auto after = append_now(*store, text_message("alice", "bob", "after"));
  REQUIRE(after);
  CHECK(after->recipient.seq == 3);
  CHECK(append_now(*store, text_message("alice", "bob", "again"))->recipient.seq == 4);
}
