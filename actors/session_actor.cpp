// One session actor per logged-in instance. It owns the instance's sink and
// its sig-expiry timer, and turns a kick from its registry into exactly one
// notice to the connection.
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/messages.hpp"

namespace chatd {
namespace {

// CAF's clock counts in nanoseconds; keep single waits far from overflow and
// re-arm when a long-lived sig's timer fires early.
constexpr std::chrono::milliseconds longest_wait{std::chrono::hours(24 * 30)};

// The sink lives in a shared slot so that the exit hook below can tell
// whether a notice was already delivered: whoever empties the slot notifies.
using sink_slot = std::shared_ptr<std::shared_ptr<instance_sink>>;

struct session_state {
  session_init init;
  sink_slot sink;
  std::uint64_t timer_generation = 0;
};

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void arm_expiry_timer(caf::stateful_actor<session_state>* self) {
  const auto generation = ++self->state.timer_generation;
  auto wait = std::chrono::milliseconds(self->state.init.sig_expires_at_ms - now_ms());
  wait = std::clamp(wait, std::chrono::milliseconds(0), longest_wait);
  self->delayed_send(self, wait, expire_atom::value, generation);
}

caf::behavior session_actor(caf::stateful_actor<session_state>* self, session_init init) {
  self->state.sink = std::make_shared<std::shared_ptr<instance_sink>>(std::move(init.sink));
  self->state.init = std::move(init);
  // Whatever ends this actor without a kick notice (a bug, a kill, shutdown),
  // the connection must learn that its instance is gone.
  self->attach_functor([slot = self->state.sink](const caf::error&) {
    if (auto sink = std::exchange(*slot, nullptr))
      sink->lost();
  });
  arm_expiry_timer(self);
  return {
      [=](expire_atom, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.timer_generation)
          return;  // superseded by a renew
        if (now_ms() < st.init.sig_expires_at_ms) {
          arm_expiry_timer(self);
          return;
        }
        self->send(st.init.registry, expired_atom::value, st.init.self.instance_id);
      },
      [=](renew_atom, std::int64_t sig_expires_at_ms) {
        self->state.init.sig_expires_at_ms = sig_expires_at_ms;
        arm_expiry_timer(self);
      },
      [=](notice_atom, const kick_notice& notice) {
        if (auto sink = std::exchange(*self->state.sink, nullptr))
          sink->kicked(notice);
        self->quit();
      },
      [=](stop_atom) {
        *self->state.sink = nullptr;
        self->quit();
      },
  };
}

}  // namespace

caf::actor spawn_session(caf::actor_system& system, session_init init) {
  return system.spawn(session_actor, std::move(init));
}

}  // namespace chatd
