// Internal to actors/: the directory shards that map (app, user) to its
// registry, spawning a registry on first login and retiring it when its
// last instance is gone. Includes CAF.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>
#include <vector>

#include "actors/registry_protocol.hpp"

namespace chatd {

// (app, user) -> registry, for a shard of the users.
using directory_actor =
    caf::typed_actor<caf::reacts_to<login_atom, login_order, reply<login_grant>>,
                     caf::reacts_to<login_atom, cluster_instance, reply<cluster_grant>>,
                     caf::reacts_to<adopt_atom, cluster_instance>,
                     caf::reacts_to<logout_atom, user_key, std::string, reply<errc>>,
                     caf::reacts_to<renew_atom, user_key, std::string, std::int64_t, reply<errc>>,
                     caf::reacts_to<expired_atom, user_key, std::string>,
                     // Retires quietly the registries of the users of these shards.
                     caf::reacts_to<disown_atom, std::shared_ptr<const std::vector<bool>>>,
                     caf::reacts_to<kick_atom, user_key, kick_type, reply<std::size_t>>,
                     caf::reacts_to<online_atom, user_key, reply<online_list>>,
                     caf::reacts_to<deliver_atom, user_key, timeline_entry, std::string>,
                     caf::reacts_to<notify_atom, user_key, user_notice, std::string>,
                     // A registry with no instance left offers to retire, with the count of
                     // logins it has seen; the directory agrees only if it routed no more.
                     caf::reacts_to<retire_atom, user_key, std::uint64_t>>;

// `fencing` is null on a single node.
directory_actor spawn_directory(caf::actor_system& system, expiry_wheel_actor expiry_wheel,
                                std::shared_ptr<const registry_fencing> fencing);
registry_actor spawn_user_registry(caf::actor_system& system, user_key key,
                                   directory_actor directory, expiry_wheel_actor expiry_wheel,
                                   std::shared_ptr<const registry_fencing> fencing);

// The directory shard that holds a user's registry: the session service and
// a cluster node must pick the same one.
inline const directory_actor& shard_of(const std::vector<directory_actor>& shards,
                                       const user_key& key) {
  return shards[user_key_hash{}(key) % shards.size()];
}

}  // namespace chatd

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const std::vector<bool>>)
