// Internal to actors/: a session actor (one per logged-in instance) and the
// expiry wheel that keeps every session's sig deadline. Includes CAF.
#pragma once

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "actors/atoms.hpp"
#include "actors/cluster_wire.hpp"

namespace chatd {

// One logged-in instance: keeps its sig deadline (with the expiry wheel),
// reports its expiry to the registry, and, if it dies without a kick or a
// logout, tells its connection (instance_fate::lost).
//
// In a cluster its registry may live on another node: kicks and timeline
// entries then reach the connection through this actor (kicked, deliver).
using session_actor =
    caf::typed_actor<caf::reacts_to<expire_atom>,  // its sig deadline passed (from the wheel)
                     caf::reacts_to<renew_atom, std::int64_t>,  // a new sig deadline (ms)
                     // Kicked: type, and the instance that caused it ("" = none).
                     // Answered once the connection was told (a kick's acknowledgement).
                     caf::replies_to<kicked_atom, kick_type, std::string, platform>::with<bool>,
                     caf::reacts_to<deliver_atom, wire_entry>,
                     caf::reacts_to<notify_atom, user_notice>,
                     caf::reacts_to<stop_atom>>;  // logged out or kicked: quit quietly

// Where a session reports that its sig expired: its registry, or (in a
// cluster) its node, which finds the registry.
using expiry_sink = caf::typed_actor<caf::reacts_to<expired_atom, user_key, std::string>>;

// Every session's sig deadline, in one ordered map and one timer.
using expiry_wheel_actor =
    caf::typed_actor<caf::reacts_to<watch_atom, session_actor, std::int64_t>,
                     caf::reacts_to<unwatch_atom, caf::actor_addr>,
                     caf::reacts_to<expire_atom, std::uint64_t>>;  // its own tick

// How one instance ends, told to its connection exactly once: kicked (by
// its registry, directly, so that a kick is as fast as the answer to the
// login that caused it), lost (its session actor died without a kick), or
// nothing (logged out). Shared by the registry and the session actor.
class instance_fate {
 public:
  explicit instance_fate(std::shared_ptr<instance_sink> sink) : sink_(std::move(sink)) {}
  void kicked(const kick_notice& notice) {
    if (!settled_.exchange(true))
      sink_->kicked(notice);
  }
  void lost() {
    if (!settled_.exchange(true))
      sink_->lost();
  }
  void ended_quietly() { settled_.store(true); }
  void deliver(const timeline_entry& entry) {
    if (!settled_.load())
      sink_->message(entry);
  }
  void notify(const user_notice& notice) {
    if (!settled_.load())
      sink_->notice(notice);
  }

 private:
  std::shared_ptr<instance_sink> sink_;
  std::atomic<bool> settled_{false};
};

// What a session actor needs of its instance; who the user is lives in the
// registry, the rest at the connection.
struct session_init {
  user_key key;
  instance_ref self;
  std::int64_t sig_expires_at_ms = 0;
  std::shared_ptr<instance_fate> fate;
  expiry_sink report_expiry_to;
  expiry_wheel_actor expiry_wheel;
};

session_actor spawn_session(caf::actor_system& system, session_init init);
expiry_wheel_actor spawn_expiry_wheel(caf::actor_system& system);

}  // namespace chatd

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::timeline_entry)
