// The cluster's lease store on a real PostgreSQL: what a node frozen in
// the middle of its round does to the others.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>

#include "backends.hpp"
#include "store/postgres_leases.hpp"

using namespace chatd;
using namespace chatd::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint64_t> no_epochs() {
  return std::vector<std::uint64_t>(shard_count, 0);
}

struct frozen_release {
  std::promise<void> entered;
  bool first = true;
};

// The first release of a round freezes it (inside its transaction) for 2 s.
void freeze_at_first_release(void* context, std::uint32_t) {
  auto& f = *static_cast<frozen_release*>(context);
  if (!std::exchange(f.first, false))
    return;
  f.entered.set_value();
  std::this_thread::sleep_for(2s);
}

void nothing(void*, std::uint32_t) {}

}  // namespace

TEST_CASE(
    "PostgreSQL leases: a node frozen inside its round holds the others up for an eighth of a "
    "lease, not while it is frozen") {
  postgres_backend backend;
  auto a = open_postgres_leases(backend.url);
  auto b = open_postgres_leases(backend.url);
  constexpr auto lease = 1000ms;
  a->round("a", lease, no_epochs(), nothing, nullptr);  // a holds every shard
  b->round("b", lease, no_epochs(), nothing, nullptr);  // b is live: a must release some
  frozen_release frozen;
  auto entered = frozen.entered.get_future();
  auto a_round = std::async(std::launch::async, [&] {
    return a->round("a", lease, no_epochs(), freeze_at_first_release, &frozen);
  });
  REQUIRE(entered.wait_for(5s) == std::future_status::ready);  // a holds the shard rows
  const auto started = std::chrono::steady_clock::now();
  b->round("b", lease, no_epochs(), nothing, nullptr);
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(waited < 1000ms);       // PostgreSQL ended a's session at lease / 8 (125 ms)
  CHECK_THROWS(a_round.get());  // a's round failed: nothing of it committed
  // a, awake, reconnects and takes part again.
  CHECK_NOTHROW(a->round("a", lease, no_epochs(), nothing, nullptr));
}
