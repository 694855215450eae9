// Helpers for tests that drive coroutines on an io_context, bounded in time
// (the client tests and the embedded-server test).
//
// GCC 12 miscompiles lambdas that capture inside coroutine bodies and
// braced temporaries inside co_await expressions, so tests attach callbacks
// from plain functions, poll with a macro instead of lambdas, and name
// every argument before awaiting.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>

namespace chatd::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

inline asio::awaitable<void> sleep_for(asio::io_context& io, std::chrono::milliseconds d) {
  asio::steady_timer t(io, d);
  co_await t.async_wait(asio::use_awaitable);
}

// Polls for up to 20 s (a loaded CI machine); tests end long before.
#define WAIT_UNTIL(io, condition)                                  \
  for (int waited_ = 0; waited_ < 2000 && !(condition); ++waited_) \
  co_await sleep_for(io, 10ms)

// Runs `body` on `io` to its end within `limit`; rethrows what it threw.
inline void run_bounded(asio::io_context& io, asio::awaitable<void> body,
                        std::chrono::seconds limit = 60s) {
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  io.run_for(limit);
  REQUIRE(done);
  if (failure)
    std::rethrow_exception(failure);
}

}  // namespace chatd::test
