// Scenario coroutines against a real chatd for the client tests: each runs
// on a fresh io_context and chatd process, bounded in time.
//
// GCC 12 miscompiles lambdas that capture inside coroutine bodies and
// braced temporaries inside co_await expressions, so scenarios attach
// callbacks from plain functions, poll with a macro instead of lambdas, and
// name every argument before awaiting.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chatd_process.hpp"

namespace chatd::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

inline asio::awaitable<void> sleep_for(asio::io_context& io, std::chrono::milliseconds d) {
  asio::steady_timer t(io, d);
  co_await t.async_wait(asio::use_awaitable);
}

// Polls for up to 20 s (a loaded CI machine); scenarios end long before.
#define WAIT_UNTIL(io, condition)                                  \
  for (int waited_ = 0; waited_ < 2000 && !(condition); ++waited_) \
  co_await sleep_for(io, 10ms)

using scenario = asio::awaitable<void> (*)(asio::io_context&, chatd::test::chatd_process&);

// Runs one scenario coroutine on a fresh io_context, bounded in time.
inline void run_scenario(scenario body, const std::string& app_extra = "") {
  chatd::test::chatd_process server(app_extra);
  asio::io_context io;
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, body(io, server), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  io.run_for(60s);
  REQUIRE(done);
  if (failure)
    std::rethrow_exception(failure);
}

}  // namespace chatd::test
