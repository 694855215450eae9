// Internal to actors/: the per-user registry, the one place where a user's
// instances are admitted under the limits, and what it admits. Includes CAF.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actors/atoms.hpp"
#include "actors/cluster_wire.hpp"
#include "actors/reply.hpp"
#include "actors/session_protocol.hpp"
#include "actors/shard_leases.hpp"

namespace chatd {

// An instance as any node's registry needs it: to admit it (a new login,
// ready_order 0) or to adopt it (its registry moved to another node).
struct cluster_instance {
  user_key key;
  std::string instance_id;
  chatd::platform platform = chatd::platform::web;
  login_limits limits;
  std::uint64_t ready_order = 0;
  session_actor session;
  std::uint64_t epoch = 0;  // of its shard's lease, when its owner registered it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_instance& x) {
  return f(caf::meta::type_name("cluster_instance"), x.key, x.instance_id, x.platform, x.limits,
           x.ready_order, x.session, x.epoch);
}

using cluster_instances = std::vector<cluster_instance>;

// What a registry of a cluster node checks before each grant: the shard
// leases, and how long an instance on a node it lost contact with may still
// believe it is online (that node fences it within this time).
struct registry_fencing {
  std::shared_ptr<const lease_gate> gate;
  std::chrono::milliseconds fence_time{0};
};

struct cluster_grant {
  errc code = errc::ok;
  std::uint64_t ready_order = 0;
};

// One user's instances: the single place where the limits are applied.
using registry_actor =
    caf::typed_actor<caf::reacts_to<login_atom, login_order, reply<login_grant>>,
                     // A login whose session lives on some node (cluster mode).
                     caf::reacts_to<login_atom, cluster_instance, reply<cluster_grant>>,
                     // An instance whose registry moved here: the limits are applied again.
                     caf::reacts_to<adopt_atom, cluster_instance>,
                     // This node no longer owns the user: quit, kicking no one.
                     caf::reacts_to<disown_atom>,
                     caf::reacts_to<logout_atom, std::string, reply<errc>>,
                     caf::reacts_to<renew_atom, std::string, std::int64_t, reply<errc>>,
                     caf::reacts_to<kick_atom, kick_type, reply<std::size_t>>,
                     caf::reacts_to<online_atom, reply<online_list>>,
                     // A timeline entry for every instance but one ("" = none).
                     caf::reacts_to<deliver_atom, timeline_entry, std::string>,
                     // A notice for every instance but one ("" = none).
                     caf::reacts_to<notify_atom, user_notice, std::string>,
                     caf::reacts_to<expired_atom, user_key, std::string>,  // a sig expired
                     caf::reacts_to<retire_atom>,               // the directory agreed: quit
                     caf::reacts_to<due_atom, std::uint64_t>>;  // its own timer (at())

// How a caller finds a live instance again: its session, and either its
// registry (one node) or its user (a cluster: the owner may change).
struct session_ref {
  session_actor session;
  registry_actor registry;
  user_key key;
  std::string instance_id;
};

}  // namespace chatd

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::login_order)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::kick_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::login_grant>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::errc>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<std::size_t>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::online_list>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::cluster_grant>)
