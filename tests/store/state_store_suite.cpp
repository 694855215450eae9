// One suite for every state_store backend (SQLite, PostgreSQL): the same
// calls, reopened as after a restart, must give the same answers.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>

#include "backends.hpp"

using namespace chatd;
using namespace chatd::test;

TEST_CASE_TEMPLATE("kicks, config overrides and accounts survive reopening the store", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  {
    auto store = backend.open_state();
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
    login_config_override other;
    other.sdkappid = 4000000000;  // sdkappids use all 32 bits
    other.package_expire_at_ms = 1800000000000;
    store->save_login_config(other);
    store->note_account(1, "bob");
    store->import_account(2, "carol");
    store->import_account(2, "carol");  // twice: still one account
    store->note_account(1, "名前 with 'quotes'");
    CHECK(store->account_known(1, "bob"));
  }
  auto store = backend.open_state();
  CHECK(store->kick_time(1, "alice") == 1700000100);
  CHECK(store->kick_time(1, "nobody") == 0);
  CHECK(store->kick_time(2, "alice") == 0);
  auto overrides = store->login_config_overrides();
  REQUIRE(overrides.size() == 2);
  std::sort(overrides.begin(), overrides.end(),
            [](const auto& a, const auto& b) { return a.sdkappid < b.sdkappid; });
  CHECK(overrides[0].max_web_instances == 4);  // kept when a later change omits it
  CHECK(overrides[0].policy == multi_device_policy::triple);
  CHECK_FALSE(overrides[0].max_devices_per_platform.has_value());
  CHECK(*overrides[0].allowed_origins == std::vector<std::string>{"https://a.example"});
  CHECK(overrides[1].sdkappid == 4000000000u);
  CHECK(overrides[1].package_expire_at_ms == 1800000000000);
  CHECK_FALSE(overrides[1].policy.has_value());
  CHECK(store->account_known(1, "bob"));
  CHECK(store->account_known(2, "carol"));
  CHECK(store->account_known(1, "名前 with 'quotes'"));
  CHECK_FALSE(store->account_known(1, "carol"));

  // Cleared fields follow the file again; the others are kept.
  login_config_override clear;
  clear.sdkappid = 1;
  clear.cleared = allowed_origins_field | max_web_instances_field;
  clear.max_devices_per_platform = 2;
  store->save_login_config(clear);
  overrides = store->login_config_overrides();
  std::sort(overrides.begin(), overrides.end(),
            [](const auto& a, const auto& b) { return a.sdkappid < b.sdkappid; });
  CHECK_FALSE(overrides[0].allowed_origins.has_value());
  CHECK_FALSE(overrides[0].max_web_instances.has_value());
  CHECK(overrides[0].policy == multi_device_policy::triple);
  CHECK(overrides[0].max_devices_per_platform == 2);
}

TEST_CASE_TEMPLATE("durable writes run on the store's thread and answer once committed", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_state();
  const auto caller = std::this_thread::get_id();
  std::promise<std::pair<bool, bool>> done;  // {ok, ran elsewhere}
  auto ran_elsewhere = std::make_shared<std::atomic<bool>>(false);
  store->on_store_thread(
      [&store, caller, ran_elsewhere] {
        *ran_elsewhere = std::this_thread::get_id() != caller;
        store->record_kick(1, "alice", 1700000000);
      },
      [&done, ran_elsewhere](bool ok) {
        done.set_value({ok, ran_elsewhere->load()});
      });
  const auto [ok, elsewhere] = done.get_future().get();
  CHECK(ok);
  CHECK(elsewhere);
  CHECK(store->kick_time(1, "alice") == 1700000000);
  CHECK(backend.open_state()->kick_time(1, "alice") == 1700000000);  // committed, not cached only
}

TEST_CASE_TEMPLATE("many new accounts are batched and all committed", B, sqlite_backend,
                   postgres_backend) {
  B backend;
  {
    auto store = backend.open_state();
    for (int i = 0; i < 2000; ++i)
      store->note_account(7, "user-" + std::to_string(i));
    store->flush();
  }
  auto store = backend.open_state();
  for (int i = 0; i < 2000; i += 97)
    CHECK(store->account_known(7, "user-" + std::to_string(i)));
}

TEST_CASE(
    "PostgreSQL: a lost connection fails the write in flight (unacknowledged), and the next "
    "write reconnects") {
  postgres_backend backend;
  auto store = backend.open_state();
  store->record_kick(1, "before", 1);
  backend.cut_connections();
  CHECK_THROWS(store->record_kick(1, "lost", 2));
  CHECK(store->write_failures() == 1);
  CHECK(store->kick_time(1, "lost") == 0);  // not acknowledged, not cached
  store->record_kick(1, "after", 3);
  CHECK(backend.open_state()->kick_time(1, "after") == 3);
}

TEST_CASE("PostgreSQL: a server that cannot be reached is a clear error at open") {
  CHECK_THROWS_WITH_AS(open_postgres_store("postgresql://chatd:secret@127.0.0.1:1/nothing"),
                       doctest::Contains("127.0.0.1:1"), std::runtime_error);
  try {
    open_postgres_store("postgresql://chatd:secret@127.0.0.1:1/nothing");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("secret") == std::string::npos);  // no password in logs
  }
}

namespace {

// Polls until `holds` (the other process's change arrived) or 5 s passed.
template <class F>
bool within_seconds(F&& holds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!holds()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

TEST_CASE("PostgreSQL: one process sees another's kicks, accounts and login config changes") {
  postgres_backend backend;
  auto first = backend.open_state();
  auto second = backend.open_state();
  std::atomic<int> config_changes{0};
  second->on_login_config_changed([&config_changes] { ++config_changes; });
  std::atomic<int> own_changes{0};  // a process is not told of its own changes
  first->on_login_config_changed([&own_changes] { ++own_changes; });

  const auto started = std::chrono::steady_clock::now();
  first->record_kick(1, "alice", 1700000000);
  CHECK(within_seconds([&] { return second->kick_time(1, "alice") == 1700000000; }));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
  first->import_account(1, "bob");
  CHECK(within_seconds([&] { return second->account_known(1, "bob"); }));
  for (int i = 0; i < 1000; ++i)  // more than one notification's worth
    first->note_account(1, "batched-" + std::to_string(i) + std::string(40, 'x'));
  first->flush();
  CHECK(within_seconds([&] {
    return second->account_known(1, "batched-0" + std::string(40, 'x')) &&
           second->account_known(1, "batched-999" + std::string(40, 'x'));
  }));
  login_config_override change;
  change.sdkappid = 1;
  change.max_web_instances = 5;
  first->save_login_config(change);
  CHECK(within_seconds([&] { return config_changes.load() >= 1; }));
  CHECK(second->login_config_overrides().at(0).max_web_instances == 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(own_changes.load() == 0);

  // Its listening connection lost: what changed meanwhile is read again.
  backend.cut_connections();
  try {
    first->record_kick(1, "carol", 1700000300);
  } catch (const std::exception&) {  // it met the cut too: once more
  }
  if (first->kick_time(1, "carol") == 0)
    first->record_kick(1, "carol", 1700000300);
  CHECK(within_seconds([&] { return second->kick_time(1, "carol") == 1700000300; }));
}

TEST_CASE_TEMPLATE("profiles: fields merge per tag, texts keep any bytes, and survive reopening", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  const std::string nul_text("a\0b \\ \" 名", 12);
  {
    auto store = backend.open_state();
    store->save_profile(1, "alice",
                        {{"Tag_Profile_IM_Nick", std::string("Alice")},
                         {"Tag_Profile_IM_Level", std::uint64_t{7}}});
    store->save_profile(1, "alice",
                        {{"Tag_Profile_IM_Nick", nul_text},
                         {"Tag_Profile_Custom_x", std::uint64_t{4294967296ULL}}});
    store->save_profile(2, "alice", {{"Tag_Profile_IM_Nick", std::string("other app")}});
  }
  auto store = backend.open_state();
  const auto read = store->profiles(1, {"bob", "alice"});
  REQUIRE(read.size() == 2);
  CHECK(read[0].empty());
  const user_profile expected{{"Tag_Profile_Custom_x", std::uint64_t{4294967296ULL}},
                              {"Tag_Profile_IM_Level", std::uint64_t{7}},
                              {"Tag_Profile_IM_Nick", nul_text}};
  CHECK(read[1] == expected);
  CHECK(store->profiles(2, {"alice"})[0] ==
        user_profile{{"Tag_Profile_IM_Nick", std::string("other app")}});
}

TEST_CASE_TEMPLATE("profiles read are cached until the user's profile is written", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_state();
  store->save_profile(1, "alice", {{"Tag_Profile_IM_Nick", std::string("Alice")}});
  CHECK_FALSE(store->cached_profiles(1, {"alice"}));
  const auto read = store->profiles(1, {"alice", "bob"});
  const auto cached = store->cached_profiles(1, {"bob", "alice"});
  REQUIRE(cached);
  CHECK((*cached)[0] == read[1]);
  CHECK((*cached)[1] == read[0]);
  CHECK_FALSE(store->cached_profiles(1, {"alice", "carol"}));  // all or nothing
  CHECK_FALSE(store->cached_profiles(2, {"alice"}));           // per app

  store->save_profile(1, "alice", {{"Tag_Profile_IM_Nick", std::string("Alice 2")}});
  CHECK_FALSE(store->cached_profiles(1, {"alice"}));
  CHECK(store->cached_profiles(1, {"bob"}));
  CHECK(store->profiles(1, {"alice"})[0] ==
        user_profile{{"Tag_Profile_IM_Nick", std::string("Alice 2")}});
}

TEST_CASE("PostgreSQL: one process's profile change reaches another's cached profiles") {
  postgres_backend backend;
  auto first = backend.open_state();
  auto second = backend.open_state();
  first->save_profile(1, "alice", {{"Tag_Profile_IM_Nick", std::string("Alice")}});
  // Read until cached (the notice of that first write may still come and
  // drop what a read got before it).
  REQUIRE(within_seconds([&] {
    return second->profiles(1, {"alice"})[0].size() == 1 && second->cached_profiles(1, {"alice"});
  }));

  const auto started = std::chrono::steady_clock::now();
  first->save_profile(1, "alice", {{"Tag_Profile_IM_Nick", std::string("Alice 2")}});
  const user_profile changed{{"Tag_Profile_IM_Nick", std::string("Alice 2")}};
  CHECK(within_seconds([&] { return second->profiles(1, {"alice"})[0] == changed; }));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));

  // Its listening connection lost: the cache is read again.
  backend.cut_connections();
  const user_profile after_cut{{"Tag_Profile_IM_Nick", std::string("Alice 3")}};
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      first->save_profile(1, "alice", after_cut);
      break;
    } catch (const std::exception&) {  // it met the cut too: once more
    }
  }
  CHECK(within_seconds([&] { return second->profiles(1, {"alice"})[0] == after_cut; }));
}
