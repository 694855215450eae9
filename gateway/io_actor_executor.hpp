// Runs the actors on the io_context's threads (actors/session_service.hpp,
// actor_executor): a login read on an io thread is admitted by its actors on
// that same thread, with no hand-over between thread pools.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "actors/session_service.hpp"

namespace chatd {

class io_actor_executor final : public actor_executor {
 public:
  explicit io_actor_executor(boost::asio::io_context& io) : io_(io) {}
  void post(void (*run)(void*), void* arg) override {
    boost::asio::post(io_, [run, arg] { run(arg); });
  }

 private:
  boost::asio::io_context& io_;
};

}  // namespace chatd
