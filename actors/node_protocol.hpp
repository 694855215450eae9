// Internal to actors/: one node of a cluster (cluster_node.cpp), what it
// answers its peers, and what crosses nodes. Includes CAF.
#pragma once

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/directory_protocol.hpp"
#include "actors/shard_leases.hpp"

namespace chatd {

// One node of a cluster: routes this node's requests to the owner of each
// user (itself or a peer), answers its peers' requests for the users it
// owns, and moves its live instances to their new owner when the members
// change (cluster_node.cpp). The first group comes from this node, the
// second from peers (serializable only), the last from itself.
using node_actor = caf::typed_actor<
    // From this node's session_service.
    caf::reacts_to<login_atom, login_order, reply<login_grant>>,
    caf::reacts_to<logout_atom, user_key, std::string, reply<errc>>,
    caf::reacts_to<renew_atom, user_key, std::string, std::int64_t, reply<errc>>,
    caf::reacts_to<kick_atom, user_key, kick_type, reply<std::size_t>>,
    caf::reacts_to<online_atom, user_key, reply<online_list>>,
    caf::reacts_to<deliver_atom, user_key, timeline_entry, std::string>,
    caf::reacts_to<notify_atom, user_key, user_notice, std::string>,
    caf::reacts_to<expired_atom, user_key, std::string>,
    caf::reacts_to<leave_atom>,  // this node drains: its users go to the others
    // From peers, for users this node owns: each answer starts with its
    // owner_status. A login's: its code, ready order and the epoch it was
    // granted at.
    caf::replies_to<login_atom, cluster_instance>::with<owner_status, errc, std::uint64_t,
                                                        std::uint64_t>,
    // The owner of these shards at these epochs (a name) asks for the live
    // instances of them on this node; they are registered there from now on.
    caf::replies_to<claim_atom, shard_epochs, std::string>::with<cluster_instances>,
    caf::replies_to<adopt_atom, cluster_instance>::with<owner_status>,
    caf::replies_to<logout_atom, user_key, std::string>::with<owner_status, errc>,
    caf::replies_to<renew_atom, user_key, std::string, std::int64_t>::with<owner_status, errc>,
    caf::replies_to<kick_atom, user_key, kick_type>::with<owner_status, std::uint64_t>,
    caf::replies_to<online_atom, user_key>::with<owner_status, online_list>,
    caf::reacts_to<deliver_atom, user_key, wire_entry, std::string>,
    caf::reacts_to<notify_atom, user_key, user_notice, std::string, std::string>,  // + from node
    caf::reacts_to<expired_atom, user_key, std::string, std::string>,              // + from node
    // Membership: a peer introduces itself (name, cluster address, its node
    // actor as caf::actor: a typed interface cannot name itself) and gets
    // this node's name; a peer that drains says so.
    caf::replies_to<hello_atom, std::string, std::string, caf::actor>::with<std::string>,
    caf::reacts_to<leave_atom, std::string>,
    // From itself: its tick, a retry that is due, its directories' answers
    // to peers' requests (by call), a committed lease round.
    caf::reacts_to<tick_atom>, caf::reacts_to<retry_atom, std::uint64_t>,
    caf::reacts_to<answered_atom, std::uint64_t, outcome<cluster_grant>>,
    caf::reacts_to<answered_atom, std::uint64_t, outcome<errc>>,
    caf::reacts_to<answered_atom, std::uint64_t, outcome<std::size_t>>,
    caf::reacts_to<answered_atom, std::uint64_t, outcome<online_list>>,
    caf::reacts_to<lease_atom, std::shared_ptr<const lease_view>>>;

// "host:port" (validated by the config) -> host and port.
inline std::pair<std::string, std::uint16_t> split_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return {address, 0};
  return {address.substr(0, colon),
          static_cast<std::uint16_t>(std::stoul(address.substr(colon + 1)))};
}

// How long a node may take to fence an instance whose owner it lost contact
// with, counted from the loss (cluster_node.cpp, "Fencing"): the owner's
// registry counts such an instance as online for this long.
std::chrono::milliseconds cluster_fence_time(const cluster_options& options);

// Registers every type above that crosses nodes; on every node, before the
// actor system starts.
void add_cluster_message_types(caf::actor_system_config& config);
node_actor spawn_cluster_node(caf::actor_system& system, const cluster_options& options,
                              std::vector<directory_actor> directories,
                              expiry_wheel_actor expiry_wheel, std::shared_ptr<lease_gate> gate);

}  // namespace chatd

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::outcome<chatd::cluster_grant>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::outcome<chatd::errc>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::outcome<std::size_t>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::outcome<chatd::online_list>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const chatd::lease_view>)
