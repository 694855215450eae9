// The coroutine <-> actor bridge: results from foreign threads resume the
// coroutine on its own executor, and the io_context waits for them.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "gateway/actor_bridge.hpp"

namespace asio = boost::asio;

TEST_CASE("a bridged call resumes on the coroutine's strand, not the caller's thread") {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  int completed = 0;
  bool always_on_strand = true;
  // Joined before the io_context dies: a callback holds the executor.
  std::vector<std::thread> foreign;
  auto body = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 100; ++i) {
      const int value = co_await chatd::async_bridge<int>(
          [i, &foreign](std::function<void(int)> done) {
            foreign.emplace_back([done = std::move(done), i] { done(i * 2); });
          },
          asio::use_awaitable);
      always_on_strand = always_on_strand && strand.running_in_this_thread() && value == i * 2;
      ++completed;
    }
  };
  asio::co_spawn(strand, body(), asio::detached);
  // run() returns only when every bridged wait has completed: the wait counts as work.
  io.run();
  for (auto& t : foreign)
    t.join();
  CHECK(completed == 100);
  CHECK(always_on_strand);
}
