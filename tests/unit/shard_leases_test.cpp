// Shard ownership (actors/shard_leases.hpp): the shard hash, the rendezvous
// choice of a shard's owner, a lease round's plan, the gate; and the
// re-application of the limits to an adopted instance (instance_table).
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <thread>

#include "actors/instance_table.hpp"
#include "actors/shard_leases.hpp"

using namespace chatd;
using std::chrono::milliseconds;

TEST_CASE("shard hashes and scores are fixed: every node of every build agrees") {
  // The same vectors are checked by tests/e2e/cluster.test.mjs (its own hash).
  CHECK(shard_of_user(1400000000, "alice") == 248);
  CHECK(shard_score("n1", 7) == 0x4f8bdb2b11be9dbcull);
  CHECK(shard_of_user(1400000000, "alice") < shard_count);
  CHECK(shard_score("n1", 7) != shard_score("n2", 7));
}

TEST_CASE(
    "owners: independent of the order nodes are listed, and a lost node moves only its shards") {
  const std::vector<std::string> all{"n1", "n2", "n3", "n4"};
  const std::vector<std::string> shuffled{"n3", "n1", "n4", "n2"};
  const std::vector<std::string> without{"n1", "n2", "n3"};
  std::map<std::string, int> moved_to;
  int owned_by_lost = 0;
  for (std::uint32_t s = 0; s < shard_count; ++s) {
    CHECK(desired_owner(all, s) == desired_owner(shuffled, s));
    if (desired_owner(all, s) == "n4") {
      ++owned_by_lost;
      ++moved_to[desired_owner(without, s)];
    } else {
      CHECK(desired_owner(all, s) == desired_owner(without, s));
    }
  }
  CHECK(owned_by_lost > 200);  // about a quarter of 1024
  CHECK(owned_by_lost < 320);
  CHECK(moved_to.size() == 3);
  CHECK(desired_owner({}, 0).empty());
}

std::vector<shard_lease> table_of(const std::string& owner, std::uint64_t epoch, int remaining_ms) {
  return std::vector<shard_lease>(shard_count,
                                  shard_lease{owner, epoch, milliseconds(remaining_ms)});
}

TEST_CASE(
    "a round renews what it should keep, releases what a live node should own, acquires only the "
    "expired") {
  const std::vector<std::string> live{"n1", "n2"};
  auto plan = plan_round("n1", live, table_of("n1", 3, 1000));
  for (std::uint32_t s = 0; s < shard_count; ++s)
    CHECK(plan[s] ==
          (desired_owner(live, s) == "n1" ? lease_change::renew : lease_change::release));
  // Held by n2 and valid: n1 takes nothing, whatever it should own.
  plan = plan_round("n1", live, table_of("n2", 3, 1));
  for (auto change : plan)
    CHECK(change == lease_change::keep);
  // Expired: n1 acquires its own share only.
  plan = plan_round("n1", live, table_of("n2", 3, 0));
  for (std::uint32_t s = 0; s < shard_count; ++s)
    CHECK(plan[s] == (desired_owner(live, s) == "n1" ? lease_change::acquire : lease_change::keep));
  // Its own lease lapsed: acquired again (a new epoch), never renewed.
  plan = plan_round("n1", {"n1"}, table_of("n1", 3, -5));
  for (auto change : plan)
    CHECK(change == lease_change::acquire);
}

TEST_CASE("the gate admits only the held, open, unexpired epoch") {
  lease_gate gate;
  const auto later = std::chrono::steady_clock::now() + milliseconds(200);
  CHECK_FALSE(gate.admits(5, 0));
  gate.hold(5, 2, later);
  CHECK_FALSE(gate.admits(5, 2));  // not open: the claim is not done
  gate.open(5, 2);
  CHECK(gate.admits(5, 2));
  CHECK_FALSE(gate.admits(5, 1));
  CHECK_FALSE(gate.admits(6, 2));
  gate.hold(5, 3, later);  // acquired again: closed until claimed again
  CHECK_FALSE(gate.admits(5, 3));
  gate.open(5, 3);
  CHECK(gate.admits(5, 3));
  gate.close(5);
  CHECK_FALSE(gate.admits(5, 3));
  gate.hold(5, 3, std::chrono::steady_clock::now() + milliseconds(20));
  CHECK(gate.admits(5, 3));
  std::this_thread::sleep_for(milliseconds(30));
  CHECK_FALSE(gate.admits(5, 3));  // the lease clock ran out
}

TEST_CASE(
    "instance_table: an adopted instance takes its place in ready order and the limits apply "
    "again") {
  const login_limits limits{multi_device_policy::dual, 2, 1};
  instance_table table;
  CHECK(table.admit({"b", platform::web, 20}, limits).empty());
  CHECK(table.admit({"d", platform::web, 40}, limits).empty());
  // "a" (ready at 10) and "c" (30) come from another registry of the user:
  // replayed in ready order a, b, c, d with 2 Web instances, a and b go.
  auto evicted = table.adopt({"a", platform::web, 10}, limits);
  REQUIRE(evicted.size() == 1);
  CHECK(evicted[0].evicted.instance.instance_id == "a");
  CHECK(evicted[0].by.instance_id == "d");
  evicted = table.adopt({"c", platform::web, 30}, limits);
  REQUIRE(evicted.size() == 1);
  CHECK(evicted[0].evicted.instance.instance_id == "b");
  CHECK(evicted[0].evicted.type == kick_type::multiple_account);
  CHECK(evicted[0].by.instance_id == "d");
  CHECK(table.size() == 2);
  CHECK(table.instances()[0].instance_id == "c");
  CHECK(table.instances()[1].instance_id == "d");
  // Adopting one already here changes nothing.
  CHECK(table.adopt({"c", platform::web, 30}, limits).empty());
  // A mobile instance older than the one here loses to it (dual: one mobile).
  CHECK(table.admit({"p", platform::iphone, 50}, limits).empty());
  evicted = table.adopt({"q", platform::android, 45}, limits);
  REQUIRE(evicted.size() == 1);
  CHECK(evicted[0].evicted.instance.instance_id == "q");
  CHECK(evicted[0].evicted.type == kick_type::multiple_device);
  CHECK(evicted[0].by.instance_id == "p");
}
