// Internal to actors/: the atoms and message types of the registry, session,
// directory and gateway actor protocols. Includes CAF; never include it from
// a header outside actors/.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "actors/session_service.hpp"

namespace chatd {

// Directory + registry protocol.
using login_atom = caf::atom_constant<caf::atom("login")>;      // (login_order) -> login_grant
using logout_atom = caf::atom_constant<caf::atom("logout")>;    // (id) -> int errc
using renew_atom = caf::atom_constant<caf::atom("renew")>;      // (id, int64 ms) -> int errc
using kick_atom = caf::atom_constant<caf::atom("kick")>;        // (kick_type as int) -> size_t
using online_atom = caf::atom_constant<caf::atom("online")>;    // () -> online list
using retire_atom = caf::atom_constant<caf::atom("retire")>;    // registry <-> directory
using expired_atom = caf::atom_constant<caf::atom("expired")>;  // session -> registry
// Session protocol.
using expire_atom = caf::atom_constant<caf::atom("expire")>;  // timer tick
using stop_atom = caf::atom_constant<caf::atom("stop")>;      // logout: quit quietly
using notice_atom = caf::atom_constant<caf::atom("notice")>;  // (kick_notice)
// Expiry wheel.
using watch_atom = caf::atom_constant<caf::atom("watch")>;      // (session, int64 ms)
using unwatch_atom = caf::atom_constant<caf::atom("unwatch")>;  // (session address)
// Gateway actor: run a job that issues requests on behalf of a caller.
using run_atom = caf::atom_constant<caf::atom("run")>;

using online_list = std::vector<online_instance>;
// A job executed inside a gateway actor, so requests get CAF's timeouts and
// down-detection without spawning an actor per request.
using gateway_job = std::function<void(caf::event_based_actor*)>;

struct session_ref {
  caf::actor session;
  caf::actor registry;
  std::string instance_id;
};

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

struct session_init {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  instance_ref self;
  std::int64_t sig_expires_at_ms = 0;
  std::shared_ptr<instance_sink> sink;
  caf::actor registry;
  caf::actor expiry_wheel;
};

caf::actor spawn_session(caf::actor_system& system, session_init init);
caf::actor spawn_user_registry(caf::actor_system& system, user_key key, caf::actor directory,
                               caf::actor expiry_wheel);
caf::actor spawn_directory(caf::actor_system& system, caf::actor expiry_wheel);
caf::actor spawn_expiry_wheel(caf::actor_system& system);
caf::actor spawn_gateway_actor(caf::actor_system& system);

}  // namespace chatd

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::login_order)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::login_grant)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::kick_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::online_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::gateway_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::user_key)
