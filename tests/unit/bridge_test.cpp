// The coroutine <-> actor bridge (gateway/actor_ask.hpp): answers from
// foreign threads resume the coroutine on its own strand, the io_context
// waits for them, and a missing answer is a typed error, never a value.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <thread>

#include "gateway/actor_ask.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using chatd::ask;
using chatd::ask_error;
using chatd::outcome;
using chatd::reply;

namespace {

// Plain functions that return the awaitable: the captures live here.
asio::awaitable<outcome<int>> doubled_on_a_thread(std::vector<std::thread>& foreign, int i) {
  return ask<int>([&foreign, i](reply<int> done) {
    foreign.emplace_back([done = std::move(done), i] { done(i * 2); });
  });
}

asio::awaitable<outcome<int>> never_answered(std::vector<reply<int>>& kept) {
  return ask<int>([&kept](reply<int> done) { kept.push_back(std::move(done)); }, {}, 50ms);
}

asio::awaitable<outcome<int>> dropped() {
  return ask<int>([](reply<int>) {});
}

}  // namespace

TEST_CASE("an answer resumes the coroutine on its strand, not the answering thread") {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  int completed = 0;
  bool always_on_strand = true;
  // Joined before the io_context dies: an answer holds the executor.
  std::vector<std::thread> foreign;
  auto body = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 100; ++i) {
      const auto answer = co_await doubled_on_a_thread(foreign, i);
      always_on_strand = always_on_strand && strand.running_in_this_thread() && answer.ok() &&
                         answer.value == i * 2;
      ++completed;
    }
  };
  asio::co_spawn(strand, body(), asio::detached);
  // run() returns only when every wait has completed: the wait counts as work.
  io.run();
  for (auto& t : foreign)
    t.join();
  CHECK(completed == 100);
  CHECK(always_on_strand);
}

TEST_CASE("no answer in time is a timeout, and a late answer goes nowhere") {
  asio::io_context io;
  std::vector<reply<int>> kept;
  outcome<int> result;
  auto body = [&]() -> asio::awaitable<void> { result = co_await never_answered(kept); };
  asio::co_spawn(io, body(), asio::detached);
  io.run();
  CHECK(result.error == ask_error::timeout);
  REQUIRE(kept.size() == 1);
  kept.front()(7);  // too late: must not resume anything
  io.restart();
  io.run();
  CHECK(result.error == ask_error::timeout);
}

TEST_CASE("a reply dropped unanswered (its actor died) answers unavailable at once") {
  asio::io_context io;
  outcome<int> result;
  auto started = std::chrono::steady_clock::now();
  auto body = [&]() -> asio::awaitable<void> { result = co_await dropped(); };
  asio::co_spawn(io, body(), asio::detached);
  io.run();
  CHECK(result.error == ask_error::unavailable);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}
