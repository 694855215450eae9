// The one bridge between coroutines and the actor system: `co_await ask<T>`
// hands a reply<T> (actors/reply.hpp) to a facade call and resumes the
// coroutine on its own executor with an outcome<T>: the value, `unavailable`
// (the answering actor is gone) or `timeout` (no answer within the limit).
// Never blocks a thread. Answers that arrive after a timeout go to `late`,
// so that what they hold (a granted session) can be released.
#pragma once

#include <atomic>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include "actors/reply.hpp"

namespace chatd {

// How long a coroutine waits for an actor before it sees `timeout`.
constexpr std::chrono::seconds actor_ask_timeout{10};

namespace detail {

template <class T, class Handler>
class awaiting_reply final : public reply_target<T>,
                             public std::enable_shared_from_this<awaiting_reply<T, Handler>> {
 public:
  using executor_type = boost::asio::associated_executor_t<Handler>;

  awaiting_reply(Handler handler, std::function<void(T)> late)
      : handler_(std::move(handler)),
        executor_(boost::asio::get_associated_executor(handler_)),
        timer_(executor_),
        late_(std::move(late)) {}

  // On the coroutine's executor; the pending timer also keeps its io_context running.
  void arm(std::chrono::steady_clock::duration limit) {
    timer_.expires_after(limit);
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
      if (!ec)
        self->deliver({ask_error::timeout, T{}});
    });
  }

  // Any thread; the first outcome wins.
  void deliver(outcome<T> result) override {
    if (settled_.exchange(true)) {
      if (late_ && result.ok())
        late_(std::move(result.value));
      return;
    }
    boost::asio::post(executor_,
                      [self = this->shared_from_this(), result = std::move(result)]() mutable {
                        self->timer_.cancel();
                        std::move(self->handler_)(std::move(result));
                      });
  }

 private:
  Handler handler_;
  executor_type executor_;
  boost::asio::steady_timer timer_;
  std::function<void(T)> late_;
  std::atomic<bool> settled_{false};
};

}  // namespace detail

// `start(reply<T>)` makes the facade call. A plain function (not a
// coroutine) so that the captures live in `start`, not in a coroutine frame
// (GCC 12 miscompiles captures of coroutine parameters).
template <class T, class Start>
boost::asio::awaitable<outcome<T>> ask(
    Start start, std::function<void(T)> late = {},
    std::chrono::steady_clock::duration limit = actor_ask_timeout) {
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(outcome<T>)>(
      [](auto handler, Start start, std::function<void(T)> late,
         std::chrono::steady_clock::duration limit) {
        using target_type = detail::awaiting_reply<T, decltype(handler)>;
        auto target = std::make_shared<target_type>(std::move(handler), std::move(late));
        target->arm(limit);
        start(reply<T>(std::move(target)));
      },
      boost::asio::use_awaitable, std::move(start), std::move(late), limit);
}

}  // namespace chatd
