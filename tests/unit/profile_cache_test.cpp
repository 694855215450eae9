// The profile cache of the state store: what a drop keeps out, and its bound.
#include "store/profile_cache.hpp"

#include <doctest/doctest.h>

namespace chatd {
namespace {

const user_profile nick_a{{"Tag_Profile_IM_Nick", std::string("A")}};
const user_profile nick_b{{"Tag_Profile_IM_Nick", std::string("B")}};

TEST_CASE("profile cache: a read that raced a drop is not kept for the user dropped") {
  profile_cache cache;
  const auto before = cache.generation();
  cache.drop(1, "alice");  // alice changed while the tables were read
  cache.keep(1, {"alice", "bob"}, {nick_a, nick_b}, before);
  CHECK_FALSE(cache.find(1, {"alice"}));
  REQUIRE(cache.find(1, {"bob"}));
  CHECK(cache.find(1, {"bob"})->at(0) == nick_b);

  const auto after = cache.generation();
  cache.keep(1, {"alice"}, {nick_b}, after);
  CHECK(cache.find(1, {"alice"})->at(0) == nick_b);
}

TEST_CASE("profile cache: more drops than remembered, or a clear, keep nothing read before") {
  profile_cache cache;
  auto before = cache.generation();
  for (std::size_t i = 0; i <= profile_cache::max_recent_drops; ++i)
    cache.drop(1, "user-" + std::to_string(i));
  cache.keep(1, {"bob"}, {nick_b}, before);
  CHECK_FALSE(cache.find(1, {"bob"}));

  cache.keep(1, {"bob"}, {nick_b}, cache.generation());
  before = cache.generation();
  cache.clear();
  CHECK_FALSE(cache.find(1, {"bob"}));
  cache.keep(1, {"carol"}, {nick_a}, before);
  CHECK_FALSE(cache.find(1, {"carol"}));
}

TEST_CASE("profile cache: a full cache still takes new profiles, within its bound") {
  profile_cache cache;
  const auto now = cache.generation();
  std::vector<std::string> users;
  for (std::size_t i = 0; i <= profile_cache::max_entries; ++i)
    users.push_back("user-" + std::to_string(i));
  cache.keep(1, users, std::vector<user_profile>(users.size(), nick_a), now);
  CHECK(cache.find(1, {users.back()}));
  std::size_t cached = 0;
  for (const auto& user : users)
    cached += cache.find(1, {user}) ? 1 : 0;
  CHECK(cached == profile_cache::max_entries);
}

}  // namespace
}  // namespace chatd
