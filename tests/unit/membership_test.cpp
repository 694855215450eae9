// Cluster membership and rendezvous ownership (actors/membership.hpp), and
// the re-application of the limits to an adopted instance (instance_table).
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "actors/instance_table.hpp"
#include "actors/membership.hpp"

using namespace chatd;

TEST_CASE("rendezvous scores are fixed: every node of every build agrees") {
  // The same vector is checked by tests/e2e/cluster.test.mjs (its own hash).
  CHECK(rendezvous_score("n1", 1400000000, "alice") == 0x2b575a110304e930ull);
  CHECK(rendezvous_score("n1", 1400000000, "alice") != rendezvous_score("n2", 1400000000, "alice"));
  CHECK(rendezvous_score("n1", 1400000000, "alice") != rendezvous_score("n1", 1400000001, "alice"));
}

TEST_CASE("membership: majority of the static list, and owners independent of join order") {
  membership one("n1", 3);
  CHECK(one.members() == std::vector<std::string>{"n1"});
  CHECK_FALSE(one.has_majority());
  CHECK(one.add("n3"));
  CHECK_FALSE(one.add("n3"));
  CHECK(one.has_majority());
  CHECK(one.add("n2"));
  membership other("n3", 3);
  other.add("n2");
  other.add("n1");
  CHECK(one.members() == other.members());
  for (int i = 0; i < 100; ++i) {
    const auto user = "user" + std::to_string(i);
    CHECK(one.owner_of(1, user) == other.owner_of(1, user));
  }
  CHECK(one.remove("n2"));
  CHECK_FALSE(one.remove("n2"));
  CHECK(one.contains("n3"));
  CHECK_FALSE(one.contains("n2"));
}

TEST_CASE("membership: a lost node moves only its own users, spread over the others") {
  membership all("n1", 4);
  for (auto n : {"n2", "n3", "n4"})
    all.add(n);
  auto without = all;
  without.remove("n4");
  std::map<std::string, int> moved_to;
  int owned_by_lost = 0;
  for (int i = 0; i < 3000; ++i) {
    const auto user = "u" + std::to_string(i);
    const auto before = all.owner_of(7, user);
    const auto after = without.owner_of(7, user);
    if (before == "n4") {
      ++owned_by_lost;
      ++moved_to[after];
    } else {
      CHECK(before == after);
    }
  }
  CHECK(owned_by_lost > 600);  // about a quarter
  CHECK(owned_by_lost < 900);
  CHECK(moved_to.size() == 3);
  for (const auto& [node, count] : moved_to)
    CHECK(count > owned_by_lost / 5);
}

TEST_CASE("membership: the node that left owns nothing, no node owns anything when none is live") {
  membership view("n1", 3);
  view.add("n2");
  view.remove("n1");
  for (int i = 0; i < 50; ++i)
    CHECK(view.owner_of(1, "x" + std::to_string(i)) == "n2");
  view.remove("n2");
  CHECK(view.owner_of(1, "x").empty());
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
