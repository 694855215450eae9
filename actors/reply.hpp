// The answer to one request into the actor system, with typed errors. A
// reply travels inside the request message itself: the actor that decides
// calls it, no requester actor or CAF request sits in between, and no CAF
// timer is armed per request. If the message is dropped (its receiver died
// or the system shut down) the reply is destroyed unanswered, and then
// answers `unavailable` by itself: no request is ever left hanging on a dead
// actor. Timeouts are the caller's (gateway/actor_ask.hpp) and arrive as
// their own error, never as a domain value. No CAF, no Asio here.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

namespace chatd {

enum class ask_error : std::uint8_t {
  none,
  unavailable,  // the actor that should answer is gone
  timeout,      // no answer within the caller's limit
};

template <class T>
struct outcome {
  ask_error error = ask_error::none;
  T value{};
  bool ok() const { return error == ask_error::none; }
};

// Where an outcome goes; implementations decide the thread it is handled on.
template <class T>
class reply_target {
 public:
  virtual ~reply_target() = default;
  virtual void deliver(outcome<T> result) = 0;
};

template <class T>
class reply {
 public:
  reply() = default;
  explicit reply(std::shared_ptr<reply_target<T>> target)
      : state_(std::make_shared<state>(std::move(target))) {}
  // A plain callback, called on whichever thread answers (tests, fire and forget).
  template <class F>
  static reply to(F f) {
    struct callback final : reply_target<T> {
      explicit callback(F fn) : fn(std::move(fn)) {}
      void deliver(outcome<T> result) override { fn(std::move(result)); }
      F fn;
    };
    return reply(std::make_shared<callback>(std::move(f)));
  }
  // A reply nobody waits for.
  static reply ignored() {
    return to([](outcome<T>) {});
  }

  // Answers; only the first answer counts.
  void operator()(T value) const { answer({ask_error::none, std::move(value)}); }
  void fail(ask_error error) const { answer({error, T{}}); }

 private:
  // Shared because CAF messages are copyable; answered once by whoever
  // holds it, or `unavailable` when the last copy goes unanswered.
  struct state {
    explicit state(std::shared_ptr<reply_target<T>> t) : target(std::move(t)) {}
    ~state() {
      if (!answered.exchange(true))
        target->deliver({ask_error::unavailable, T{}});
    }
    std::shared_ptr<reply_target<T>> target;
    std::atomic<bool> answered{false};
  };

  void answer(outcome<T> result) const {
    if (state_ && !state_->answered.exchange(true))
      state_->target->deliver(std::move(result));
  }

  std::shared_ptr<state> state_;
};

}  // namespace chatd
