// One session actor per logged-in instance. It owns the instance's sink and
// turns a kick from its registry into exactly one notice to the connection.
// Its sig deadline is kept by the expiry wheel (expiry_wheel.cpp). Spawned
// lazily: an instance that is never kicked, renewed or expired costs no
// scheduling until its logout.
#include <caf/all.hpp>

#include "actors/messages.hpp"

namespace chatd {
namespace {

// The sink lives in a shared slot so that the exit hook below can tell
// whether a notice was already delivered: whoever empties the slot notifies.
using sink_slot = std::shared_ptr<std::shared_ptr<instance_sink>>;

struct session_state {
  std::string instance_id;
  std::int64_t sig_expires_at_ms = 0;
  sink_slot sink;
  registry_actor registry;
  expiry_wheel_actor expiry_wheel;
};

using session_pointer = session_actor::stateful_pointer<session_state>;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

session_actor::behavior_type session(session_pointer self, sink_slot sink, session_init init) {
  auto& st = self->state;
  st.instance_id = std::move(init.self.instance_id);
  st.sig_expires_at_ms = init.sig_expires_at_ms;
  st.sink = std::move(sink);
  st.registry = std::move(init.registry);
  st.expiry_wheel = std::move(init.expiry_wheel);
  return {
      [=](expire_atom) {
        auto& st = self->state;
        if (now_ms() < st.sig_expires_at_ms)
          return;  // renewed after the wheel was told
        self->send(st.registry, expired_atom::value, st.instance_id);
      },
      [=](renew_atom, std::int64_t sig_expires_at_ms) {
        self->state.sig_expires_at_ms = sig_expires_at_ms;
        self->send(self->state.expiry_wheel, watch_atom::value,
                   caf::actor_cast<session_actor>(self), sig_expires_at_ms);
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

session_actor spawn_session(caf::actor_system& system, session_init init) {
  auto slot = std::make_shared<std::shared_ptr<instance_sink>>(std::move(init.sink));
  const auto deadline = init.sig_expires_at_ms;
  auto wheel = init.expiry_wheel;
  auto actor = system.spawn<caf::lazy_init>(session, slot, std::move(init));
  // Whatever ends the actor, its deadline leaves the wheel; and unless a kick
  // was delivered (a bug, a kill, shutdown), the connection must learn that
  // its instance is gone. Attached here, not in the behavior, so that it
  // holds even for an actor that never ran.
  caf::actor_cast<caf::abstract_actor*>(actor)->attach_functor(
      [slot, wheel, me = actor.address()](const caf::error&) {
        caf::anon_send(wheel, unwatch_atom::value, me);
        if (auto sink = std::exchange(*slot, nullptr))
          sink->lost();
      });
  caf::anon_send(wheel, watch_atom::value, actor, deadline);
  return actor;
}

}  // namespace chatd
