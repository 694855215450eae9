// The embedded store on a real SQLite file, reopened as after a restart.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "server/lockout.hpp"
#include "store/state_store.hpp"

using namespace chatd;

namespace {

std::filesystem::path fresh_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("chatd-store-test-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("kicks, config overrides and accounts survive reopening the store") {
  const auto dir = fresh_dir();
  {
    auto store = open_sqlite_store(dir);
    store->record_kick(1, "alice", 1700000000);
    store->record_kick(1, "alice", 1700000100);  // the later kick wins
    login_config_override change;
    change.sdkappid = 1;
    change.max_web_instances = 4;
    store->save_login_config(change);
    login_config_override more;
    more.sdkappid = 1;
    more.policy = multi_device_policy::triple;
    more.allowed_origins = std::vector<std::string>{"https://a.example"};
    store->save_login_config(more);
    store->note_account(1, "bob");
    store->import_account(2, "carol");
    CHECK(store->account_known(1, "bob"));
  }
  auto store = open_sqlite_store(dir);
  CHECK(store->kick_time(1, "alice") == 1700000100);
  CHECK(store->kick_time(1, "nobody") == 0);
  CHECK(store->kick_time(2, "alice") == 0);
  const auto overrides = store->login_config_overrides();
  REQUIRE(overrides.size() == 1);
  CHECK(overrides[0].max_web_instances == 4);  // kept when a later change omits it
  CHECK(overrides[0].policy == multi_device_policy::triple);
  CHECK_FALSE(overrides[0].max_devices_per_platform.has_value());
  CHECK(*overrides[0].allowed_origins == std::vector<std::string>{"https://a.example"});
  CHECK(store->account_known(1, "bob"));
  CHECK(store->account_known(2, "carol"));
  CHECK_FALSE(store->account_known(1, "carol"));
  std::filesystem::remove_all(dir);
}

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
