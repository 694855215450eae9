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
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/reply.hpp"
#include "actors/session_service.hpp"
#include "actors/shard_leases.hpp"

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
using kicked_atom = caf::atom_constant<caf::atom("kicked")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using disown_atom = caf::atom_constant<caf::atom("disown")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using lease_atom = caf::atom_constant<caf::atom("lease")>;
using claim_atom = caf::atom_constant<caf::atom("claim")>;

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

// --- What crosses nodes (serialized by CAF's middleman: every type here
// has an inspect() and is registered on every node, cluster_node.cpp) ---

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_key& x) {
  return f(caf::meta::type_name("user_key"), x.sdkappid, x.user_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, login_limits& x) {
  return f(caf::meta::type_name("login_limits"), x.policy, x.max_web_instances,
           x.max_devices_per_platform);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, online_instance& x) {
  return f(caf::meta::type_name("online_instance"), x.instance_id, x.platform, x.ready_order);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_message& x) {
  return f(caf::meta::type_name("chat_message"), x.sdkappid, x.from, x.to, x.text, x.client_msg_id,
           x.message_id, x.time_ms, x.random, x.client_seq, x.client_time_s, x.received_steady_ns);
}

// A timeline entry by value (a timeline_entry shares its message by pointer).
struct wire_entry {
  std::uint64_t seq = 0;
  message_flow flow = message_flow::in;
  chat_message message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_entry& x) {
  return f(caf::meta::type_name("wire_entry"), x.seq, x.flow, x.message);
}

inline wire_entry to_wire(const timeline_entry& entry) {
  return {entry.seq, entry.flow, *entry.message};
}

inline timeline_entry from_wire(wire_entry entry) {
  return {entry.seq, entry.flow, std::make_shared<const chat_message>(std::move(entry.message))};
}

// Work an actor runs on its own thread (an answer from another actor that
// must be delivered by this one). Local only.
using local_task = std::function<void()>;

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
                     caf::reacts_to<stop_atom>>;  // logged out or kicked: quit quietly

// Where a session reports that its sig expired: its registry, or (in a
// cluster) its node, which finds the registry.
using expiry_sink = caf::typed_actor<caf::reacts_to<expired_atom, user_key, std::string>>;

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

// A shard and the epoch of its lease: what a claim names.
struct shard_epoch {
  std::uint32_t shard = 0;
  std::uint64_t epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_epoch& x) {
  return f(caf::meta::type_name("shard_epoch"), x.shard, x.epoch);
}

using shard_epochs = std::vector<shard_epoch>;
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
                     caf::reacts_to<expired_atom, user_key, std::string>,  // a sig expired
                     caf::reacts_to<retire_atom>,  // the directory agreed: quit
                     caf::reacts_to<run_atom, local_task>>;

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
                     // A registry with no instance left offers to retire, with the count of
                     // logins it has seen; the directory agrees only if it routed no more.
                     caf::reacts_to<retire_atom, user_key, std::uint64_t>>;

// Every session's sig deadline, in one ordered map and one timer.
using expiry_wheel_actor =
    caf::typed_actor<caf::reacts_to<watch_atom, session_actor, std::int64_t>,
                     caf::reacts_to<unwatch_atom, caf::actor_addr>,
                     caf::reacts_to<expire_atom, std::uint64_t>>;  // its own tick

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
    caf::reacts_to<expired_atom, user_key, std::string>,
    caf::reacts_to<leave_atom>,  // this node drains: its users go to the others
    // From peers, for users this node owns; status first (0, or moved_status).
    // A login's answer: status, ready order, and the epoch it was granted at.
    caf::replies_to<login_atom, cluster_instance>::with<std::int32_t, std::uint64_t, std::uint64_t>,
    // The owner of these shards at these epochs (a name) asks for the live
    // instances of them on this node; they are registered there from now on.
    caf::replies_to<claim_atom, shard_epochs, std::string>::with<cluster_instances>,
    caf::replies_to<adopt_atom, cluster_instance>::with<std::int32_t>,
    caf::replies_to<logout_atom, user_key, std::string>::with<std::int32_t>,
    caf::replies_to<renew_atom, user_key, std::string, std::int64_t>::with<std::int32_t>,
    caf::replies_to<kick_atom, user_key, kick_type>::with<std::int32_t, std::uint64_t>,
    caf::replies_to<online_atom, user_key>::with<std::int32_t, online_list>,
    caf::reacts_to<deliver_atom, user_key, wire_entry, std::string>,
    caf::reacts_to<expired_atom, user_key, std::string, std::string>,  // + from node
    // Membership: a peer introduces itself (name, cluster address, its node
    // actor as caf::actor: a typed interface cannot name itself) and gets
    // this node's name; a peer that drains says so.
    caf::replies_to<hello_atom, std::string, std::string, caf::actor>::with<std::string>,
    caf::reacts_to<leave_atom, std::string>,
    // From itself.
    caf::reacts_to<tick_atom>, caf::reacts_to<run_atom, local_task>,
    caf::reacts_to<lease_atom, std::shared_ptr<const lease_view>>>;

// The answer of a node that does not own the user it was asked about.
inline constexpr std::int32_t moved_status = -1;

// How a caller finds a live instance again: its session, and either its
// registry (one node) or its user (a cluster: the owner may change).
struct session_ref {
  session_actor session;
  registry_actor registry;
  user_key key;
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
  user_key key;
  instance_ref self;
  std::int64_t sig_expires_at_ms = 0;
  std::shared_ptr<instance_fate> fate;
  expiry_sink report_expiry_to;
  expiry_wheel_actor expiry_wheel;
};

session_actor spawn_session(caf::actor_system& system, session_init init);
registry_actor spawn_user_registry(caf::actor_system& system, user_key key,
                                   directory_actor directory, expiry_wheel_actor expiry_wheel,
                                   std::shared_ptr<const registry_fencing> fencing);
// `fencing` is null on a single node.
directory_actor spawn_directory(caf::actor_system& system, expiry_wheel_actor expiry_wheel,
                                std::shared_ptr<const registry_fencing> fencing);
expiry_wheel_actor spawn_expiry_wheel(caf::actor_system& system);
// The directory shard that holds a user's registry: the session service and
// a cluster node must pick the same one.
inline const directory_actor& shard_of(const std::vector<directory_actor>& shards,
                                       const user_key& key) {
  return shards[user_key_hash{}(key) % shards.size()];
}

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

// Local only: these never cross a node (no serialization). Everything else
// in a message is registered with the middleman in cluster_node.cpp.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::login_order)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::kick_notice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::timeline_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::login_grant>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::errc>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<std::size_t>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::online_list>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::reply<chatd::cluster_grant>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chatd::local_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const std::vector<bool>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const chatd::lease_view>)
