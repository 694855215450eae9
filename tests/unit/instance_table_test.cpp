// CONTRACT §3 as a table: each row is a sequence of logins under one rule and
// the kicks the last login must cause.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "actors/instance_table.hpp"

using namespace chatd;

namespace {

constexpr auto W = platform::web;
constexpr auto A = platform::android;
constexpr auto I = platform::iphone;
constexpr auto P = platform::ipad;
constexpr auto Win = platform::windows;
constexpr auto M = platform::mac;
constexpr auto L = platform::linux_pc;

struct expected_kick {
  std::string id;
  kick_type type;
};

struct rule_case {
  std::string name;
  multi_device_policy policy;
  int max_web;
  int max_devices;
  std::vector<platform> online;  // logged in first, in this order: ids "0", "1", ...
  platform incoming;
  std::vector<expected_kick> kicks;
};

constexpr auto acct = kick_type::multiple_account;
constexpr auto dev = kick_type::multiple_device;
using enum multi_device_policy;

const std::vector<rule_case> rule_cases{
    // Web limits and the oldest-first victim.
    {"web limit 1: a second web login kicks the first", dual, 1, 1, {W}, W, {{"0", acct}}},
    {"web limit 2: a second web login kicks no one", dual, 2, 1, {W}, W, {}},
    {"web limit 2: a third kicks the oldest", dual, 2, 1, {W, W}, W, {{"0", acct}}},
    {"web limit 3: a fourth kicks the oldest", dual, 3, 1, {W, W, W}, W, {{"0", acct}}},
    {"web limit 10: an eleventh kicks the oldest",
     dual,
     10,
     1,
     std::vector<platform>(10, W),
     W,
     {{"0", acct}}},
    {"web limit 10: a tenth kicks no one", dual, 10, 1, std::vector<platform>(9, W), W, {}},
    // Native per-platform limits: multipleDevice.
    {"android limit 1: a second android kicks the first", multi, 1, 1, {A}, A, {{"0", dev}}},
    {"android limit 2: a third android kicks the oldest", multi, 1, 2, {A, A}, A, {{"0", dev}}},
    {"android limit 3: a fourth android kicks the oldest", multi, 1, 3, {A, A, A}, A, {{"0", dev}}},
    {"android limit 3: a third android kicks no one", multi, 1, 3, {A, A}, A, {}},
    // dual: natives form one group, Web stands alone.
    {"dual: iPhone kicks Android, Web stays", dual, 1, 1, {A, W}, I, {{"0", dev}}},
    {"dual: Web next to a native kicks no one", dual, 1, 1, {A}, W, {}},
    {"dual: Mac kicks every Android instance", dual, 1, 3, {A, A, W}, M, {{"0", dev}, {"1", dev}}},
    {"dual: Linux is in the native group", dual, 1, 1, {Win}, L, {{"0", dev}}},
    // single: one platform in all, Web included.
    {"single: Web kicks Android", single, 1, 1, {A}, W, {{"0", dev}}},
    {"single: Android kicks Web", single, 1, 1, {W}, A, {{"0", dev}}},
    {"single: a second web instance under a web limit of 2 kicks no one", single, 2, 1, {W}, W, {}},
    // triple: {Android, iPhone, iPad}, {Windows, Mac, Linux}, Web.
    {"triple: iPad kicks iPhone", triple, 1, 1, {I}, P, {{"0", dev}}},
    {"triple: Windows does not kick iPhone", triple, 1, 1, {I}, Win, {}},
    {"triple: Mac kicks Windows, not Android", triple, 1, 1, {A, Win}, M, {{"1", dev}}},
    {"triple: Web kicks no native", triple, 1, 1, {A, M}, W, {}},
    // multi: every platform alone.
    {"multi: all seven platforms online at once", multi, 1, 1, {W, A, I, P, Win, M}, L, {}},
};

}  // namespace

TEST_CASE("the multi-instance rules of CONTRACT 3") {
  for (const auto& c : rule_cases) {
    CAPTURE(c.name);
    instance_table table;
    login_limits limits{c.policy, c.max_web, c.max_devices};
    std::uint64_t order = 0;
    for (std::size_t i = 0; i < c.online.size(); ++i)
      REQUIRE(table.admit({std::to_string(i), c.online[i], order++}, limits).empty());
    const auto kicks = table.admit({"new", c.incoming, order++}, limits);
    REQUIRE(kicks.size() == c.kicks.size());
    for (std::size_t i = 0; i < kicks.size(); ++i) {
      CHECK(kicks[i].instance.instance_id == c.kicks[i].id);
      CHECK(kicks[i].type == c.kicks[i].type);
      CHECK_FALSE(table.contains(c.kicks[i].id));
    }
    CHECK(table.contains("new"));
    CHECK(table.size() == c.online.size() + 1 - c.kicks.size());
  }
}

TEST_CASE("over many rounds a limit of 3 keeps the three newest web instances") {
  instance_table table;
  const login_limits limits{multi_device_policy::dual, 3, 1};
  for (int i = 0; i < 100; ++i) {
    const auto kicks = table.admit({std::to_string(i), W, static_cast<std::uint64_t>(i)}, limits);
    if (i < 3) {
      CHECK(kicks.empty());
      continue;
    }
    REQUIRE(kicks.size() == 1);
    CHECK(kicks[0].instance.instance_id == std::to_string(i - 3));
    CHECK(table.count_on(W) == 3);
  }
}

TEST_CASE("a lowered limit kicks only at the next conflict, down to the new limit") {
  instance_table table;
  const login_limits wide{multi_device_policy::dual, 5, 1};
  for (int i = 0; i < 5; ++i)
    table.admit({std::to_string(i), W, static_cast<std::uint64_t>(i)}, wide);
  const login_limits narrow{multi_device_policy::dual, 2, 1};
  const auto kicks = table.admit({"new", W, 9}, narrow);
  CHECK(kicks.size() == 4);
  CHECK(table.count_on(W) == 2);
}

TEST_CASE("after a live policy change one login applies both rules: conflicts, then the oldest") {
  instance_table table;
  const login_limits multi_rule{multi_device_policy::multi, 1, 2};
  table.admit({"android", A, 0}, multi_rule);
  table.admit({"mac1", M, 1}, multi_rule);
  table.admit({"mac2", M, 2}, multi_rule);
  const login_limits dual_rule{multi_device_policy::dual, 1, 2};
  const auto kicks = table.admit({"mac3", M, 3}, dual_rule);
  REQUIRE(kicks.size() == 2);
  CHECK(kicks[0].instance.instance_id == "android");
  CHECK(kicks[1].instance.instance_id == "mac1");
  CHECK(table.count_on(M) == 2);
}

TEST_CASE("logout removes exactly one instance") {
  instance_table table;
  const login_limits limits{multi_device_policy::dual, 3, 1};
  table.admit({"a", W, 0}, limits);
  table.admit({"b", W, 1}, limits);
  CHECK(table.remove("a"));
  CHECK_FALSE(table.remove("a"));
  CHECK(table.contains("b"));
  CHECK(table.size() == 1);
}
