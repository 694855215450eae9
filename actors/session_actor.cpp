// One session actor per logged-in instance. It owns the instance's sink and
// turns a kick from its registry into exactly one notice to the connection.
// Its sig-expiry deadline is kept by the expiry wheel (expiry_wheel.cpp).
#include <caf/all.hpp>

#include "actors/messages.hpp"

namespace chatd {
namespace {

// The sink lives in a shared slot so that the exit hook below can tell
// whether a notice was already delivered: whoever empties the slot notifies.
using sink_slot = std::shared_ptr<std::shared_ptr<instance_sink>>;

struct session_state {
  session_init init;
  sink_slot sink;
};

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void watch_expiry(caf::stateful_actor<session_state>* self) {
  self->send(self->state.init.expiry_wheel, watch_atom::value, caf::actor_cast<caf::actor>(self),
             self->state.init.sig_expires_at_ms);
}

caf::behavior session_actor(caf::stateful_actor<session_state>* self, session_init init) {
  self->state.sink = std::make_shared<std::shared_ptr<instance_sink>>(std::move(init.sink));
  self->state.init = std::move(init);
  // Whatever ends this actor, its deadline leaves the wheel; and unless a
  // kick was delivered (a bug, a kill, shutdown), the connection must learn
  // that its instance is gone.
  self->attach_functor([slot = self->state.sink, wheel = self->state.init.expiry_wheel,
                        me = self->address()](const caf::error&) {
    caf::anon_send(wheel, unwatch_atom::value, me);
    if (auto sink = std::exchange(*slot, nullptr))
      sink->lost();
  });
  watch_expiry(self);
  return {
      [=](expire_atom, std::uint64_t) {
        auto& st = self->state;
        if (now_ms() < st.init.sig_expires_at_ms)
          return;  // renewed after the wheel was told
        self->send(st.init.registry, expired_atom::value, st.init.self.instance_id);
      },
      [=](renew_atom, std::int64_t sig_expires_at_ms) {
        self->state.init.sig_expires_at_ms = sig_expires_at_ms;
        watch_expiry(self);
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
