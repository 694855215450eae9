// One session actor per logged-in instance. It keeps the instance's sig
// deadline with the expiry wheel (expiry_wheel.cpp) and reports its expiry
// to the registry; the registry tells the connection of a kick itself
// (instance_fate), then stops this actor. In a cluster the registry may be
// on another node: kicks and entries then come through this actor. Spawned lazily: an instance that
// is never renewed or expired costs no scheduling until it ends.
#include <caf/all.hpp>

#include "actors/session_protocol.hpp"

namespace chatd {
namespace {

struct session_state {
  user_key key;
  std::string instance_id;
  std::int64_t sig_expires_at_ms = 0;
  std::shared_ptr<instance_fate> fate;
  expiry_sink report_expiry_to;
  expiry_wheel_actor expiry_wheel;
};

using session_pointer = session_actor::stateful_pointer<session_state>;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

session_actor::behavior_type session(session_pointer self, session_init init) {
  auto& st = self->state;
  st.key = std::move(init.key);
  st.instance_id = std::move(init.self.instance_id);
  st.sig_expires_at_ms = init.sig_expires_at_ms;
  st.fate = std::move(init.fate);
  st.report_expiry_to = std::move(init.report_expiry_to);
  st.expiry_wheel = std::move(init.expiry_wheel);
  return {
      [=](expire_atom) {
        auto& st = self->state;
        if (now_ms() < st.sig_expires_at_ms)
          return;  // renewed after the wheel was told
        self->send(st.report_expiry_to, expired_atom::value, st.key, st.instance_id);
      },
      [=](renew_atom, std::int64_t sig_expires_at_ms) {
        self->state.sig_expires_at_ms = sig_expires_at_ms;
        self->send(self->state.expiry_wheel, watch_atom::value,
                   caf::actor_cast<session_actor>(self), sig_expires_at_ms);
      },
      // From a registry that reaches this instance through its actor (a
      // cluster: the registry may be on another node).
      [=](kicked_atom, kick_type type, const std::string& by_instance,
          platform by_platform) -> bool {
        std::optional<instance_ref> by;
        if (!by_instance.empty())
          by = instance_ref{by_platform, by_instance};
        self->state.fate->kicked(kick_notice{type, std::move(by)});
        self->quit();
        return true;
      },
      [=](deliver_atom, wire_entry& entry) {
        self->state.fate->deliver(from_wire(std::move(entry)));
      },
      [=](notify_atom, const user_notice& notice) { self->state.fate->notify(notice); },
      [=](stop_atom) {
        self->state.fate->ended_quietly();
        self->quit();
      },
  };
}

}  // namespace

session_actor spawn_session(caf::actor_system& system, session_init init) {
  auto fate = init.fate;
  const auto deadline = init.sig_expires_at_ms;
  auto wheel = init.expiry_wheel;
  auto actor = system.spawn<caf::lazy_init>(session, std::move(init));
  // Whatever ends the actor, its deadline leaves the wheel; and unless its
  // end was settled (kicked, logged out), the connection must learn that its
  // instance is gone (a bug, a kill, shutdown, its registry died). Attached
  // here, not in the behavior, so that it holds for an actor that never ran.
  caf::actor_cast<caf::abstract_actor*>(actor)->attach_functor(
      [fate, wheel, me = actor.address()](const caf::error&) {
        caf::anon_send(wheel, unwatch_atom::value, me);
        fate->lost();
      });
  caf::anon_send(wheel, watch_atom::value, actor, deadline);
  return actor;
}

}  // namespace chatd
