// Internal to actors/: the typed interfaces of the directory, registry,
// session and expiry-wheel actors, one line per message. Includes CAF; never
// include it from a header outside actors/.
//
// Requests carry their reply (actors/reply.hpp) as the last element and are
// answered by the actor that decides, with no CAF request in between.
#pragma once

#include <caf/actor_addr.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>

#include "actors/reply.hpp"
#include "actors/session_service.hpp"

namespace chatd {

using login_atom = caf::atom_constant<caf::atom("login")>;
using logout_atom = caf::atom_constant<caf::atom("logout")>;
using renew_atom = caf::atom_constant<caf::atom("renew")>;
using kick_atom = caf::atom_constant<caf::atom("kick")>;
using online_atom = caf::atom_constant<caf::atom("online")>;
using retire_atom = caf::atom_constant<caf::atom("retire")>;
using expired_atom = caf::atom_constant<caf::atom("expired")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using unwatch_atom = caf::atom_constant<caf::atom("unwatch")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

using online_list = std::vector<online_instance>;

struct user_key {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  bool operator==(const user_key&) const = default;
};

struct user_key_hash {
  std::size_t operator()(const user_key& k) const noexcept {
    return std::hash<std::string>{}(k.user_id) * 31 + k.sdkappid;
  }
};

// One logged-in instance: keeps its sig deadline (with the expiry wheel),
// reports its expiry to the registry, and, if it dies without a kick or a
// logout, tells its connection (instance_fate::lost).
using session_actor =
    caf::typed_actor<caf::reacts_to<expire_atom>,  // its sig deadline passed (from the wheel)
                     caf::reacts_to<renew_atom, std::int64_t>,  // a new sig deadline (ms)
                     caf::reacts_to<stop_atom>>;  // logged out or kicked: quit quietly

// One user's instances: the single place where the limits are applied.
using registry_actor =
    caf::typed_actor<caf::reacts_to<login_atom, login_order, reply<login_grant>>,
                     caf::reacts_to<logout_atom, std::string, reply<errc>>,
                     caf::reacts_to<renew_atom, std::string, std::int64_t, reply<errc>>,
                     caf::reacts_to<kick_atom, kick_type, reply<std::size_t>>,
                     caf::reacts_to<online_atom, reply<online_list>>,
                     // A timeline entry for every instance but one ("" = none).
                     caf::reacts_to<deliver_atom, timeline_entry, std::string>,
                     caf::reacts_to<expired_atom, std::string>,  // a session's sig expired
                     caf::reacts_to<retire_atom>>;               // the directory agreed: quit

// (app, user) -> registry, for a shard of the users.
using directory_actor =
    caf::typed_actor<caf::reacts_to<login_atom, login_order, reply<login_grant>>,
                     caf::reacts_to<kick_atom, user_key, kick_type, reply<std::size_t>>,
                     caf::reacts_to<online_atom, user_key, reply<online_list>>,
                     caf::reacts_to<deliver_atom, user_key, timeline_entry, std::string>,
                     // A registry with no instance left offers to retire, with the count of
                     // logins it has seen; the directory agrees only if it routed no more.
                     caf::reacts_to<retire_atom, user_key, std::uint64_t>>;

// Every session's sig deadline, in one ordered map and one timer.
using expiry_wheel_actor =
    caf::typed_actor<caf::reacts_to<watch_atom, session_actor, std::int64_t>,
                     caf::reacts_to<unwatch_atom, caf::actor_addr>,
                     caf::reacts_to<expire_atom, std::uint64_t>>;  // its own tick

struct session_ref {
  session_actor session;
  registry_actor registry;
  std::string instance_id;
};

// What a session actor needs of its instance; who the user is lives in the
// registry, the rest at the connection.
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

 private:
  std::shared_ptr<instance_sink> sink_;
  std::atomic<bool> settled_{false};
};

struct session_init {
  instance_ref self;
  std::int64_t sig_expires_at_ms = 0;
  std::shared_ptr<instance_fate> fate;
  registry_actor registry;
  expiry_wheel_actor expiry_wheel;
};

session_actor spawn_session(caf::actor_system& system, session_init init);
registry_actor spawn_user_registry(caf::actor_system& system, user_key key,
                                   directory_actor directory, expiry_wheel_actor expiry_wheel);
directory_actor spawn_directory(caf::actor_system& system, expiry_wheel_actor expiry_wheel);
expiry_wheel_actor spawn_expiry_wheel(caf::actor_system& system);

}  // namespace chatd

// Local only: these never cross a node (no serialization).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::login_order)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::kick_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::kick_type)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::user_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::timeline_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::login_grant>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::errc>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<std::size_t>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::online_list>)
