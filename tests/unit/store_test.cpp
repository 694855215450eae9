// The embedded store on a full disk (SQLite only; the rest is
// tests/store/state_store_suite.cpp, run on both backends), and the lockout.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "full_disk.hpp"
#include "server/lockout.hpp"
#include "store/state_store.hpp"

using namespace chatd;
using chatd::test::full_disk;

namespace {

std::filesystem::path fresh_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("chatd-store-test-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("the lock engages at the Nth failure in the window and lifts after the lock time") {
  lockout locks({3, std::chrono::seconds(60), std::chrono::seconds(60), 1000});
  const auto t0 = lockout::clock::now();
  locks.record_failure("u", t0);
  locks.record_failure("u", t0 + std::chrono::seconds(1));
  CHECK_FALSE(locks.is_locked("u", t0 + std::chrono::seconds(2)));
  locks.record_failure("u", t0 + std::chrono::seconds(2));
  CHECK(locks.is_locked("u", t0 + std::chrono::seconds(3)));
  CHECK_FALSE(locks.is_locked("other", t0 + std::chrono::seconds(3)));
  CHECK_FALSE(locks.is_locked("u", t0 + std::chrono::seconds(63)));
}

TEST_CASE("failures spread over more than the window never lock") {
  lockout locks({3, std::chrono::seconds(10), std::chrono::seconds(60), 1000});
  const auto t0 = lockout::clock::now();
  for (int i = 0; i < 10; ++i)
    locks.record_failure("u", t0 + std::chrono::seconds(11 * i));
  CHECK_FALSE(locks.is_locked("u", t0 + std::chrono::seconds(111)));
}

TEST_CASE("random userIDs from an attacker cannot grow the lock table past its bound") {
  lockout locks({10, std::chrono::seconds(60), std::chrono::seconds(60), 1000});
  const auto t0 = lockout::clock::now();
  for (int i = 0; i < 50000; ++i)
    locks.record_failure("random-" + std::to_string(i), t0);
  CHECK(locks.tracked() <= 1000);
}

TEST_CASE("a full disk: failed writes are counted and refused, batches kept, nothing stuck") {
  const auto dir = fresh_dir();
  {
    auto store = open_sqlite_store(dir);
    store->note_account(1, "before");
    store->flush();
    {
      full_disk full(dir);
      for (int i = 0; i < 200; ++i)
        store->note_account(1, "pending-" + std::to_string(i) + std::string(200, 'x'));
      // The store's own 200 ms flush may meet the full disk too: counts
      // are at least, not exactly.
      CHECK_THROWS(store->flush());
      const auto after_flush = store->write_failures();
      CHECK(after_flush >= 1);
      CHECK_THROWS(store->record_kick(1, "kicked", 1700000000));  // never acknowledged
      CHECK(store->write_failures() >= after_flush + 1);
    }
    // Space again: the kept batch is written, and the connection is not left
    // inside a failed transaction (a durable write works at once).
    store->flush();
    store->import_account(1, "after");
    store->record_kick(1, "kicked", 1700000200);
  }
  auto reopened = open_sqlite_store(dir);
  CHECK(reopened->account_known(1, "before"));
  CHECK(reopened->account_known(1, "pending-0" + std::string(200, 'x')));
  CHECK(reopened->account_known(1, "pending-199" + std::string(200, 'x')));
  CHECK(reopened->account_known(1, "after"));
  CHECK(reopened->kick_time(1, "kicked") == 1700000200);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a durable write on the store's thread that fails answers not written") {
  const auto dir = fresh_dir();
  auto store = open_sqlite_store(dir);
  std::promise<bool> refused;
  {
    full_disk full(dir);
    store->on_store_thread([&store] { store->record_kick(1, std::string(100000, 'x'), 1); },
                           [&refused](bool ok) { refused.set_value(ok); });
    CHECK_FALSE(refused.get_future().get());
  }
}
