// The one bridge between coroutines and the actor system: turns a
// callback-style call into an awaitable operation. The callback may run on
// any thread; the coroutine always resumes on its own executor, and the
// io_context counts the wait as outstanding work. Never blocks a thread.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <utility>

namespace chatd {

// `start` receives a one-shot callback and must arrange for it to be called
// exactly once with the result, from any thread.
template <class Result, class CompletionToken>
auto async_bridge(std::function<void(std::function<void(Result)>)> start, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(Result)>(
      [](auto handler, std::function<void(std::function<void(Result)>)> start) {
        auto executor = boost::asio::get_associated_executor(handler);
        // std::function needs a copyable target; the handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto work =
            std::make_shared<boost::asio::executor_work_guard<decltype(executor)>>(executor);
        start([shared, executor, work](Result result) mutable {
          boost::asio::post(executor, [shared, work, result = std::move(result)]() mutable {
            (*shared)(std::move(result));
            work->reset();
          });
        });
      },
      token, std::move(start));
}

}  // namespace chatd
