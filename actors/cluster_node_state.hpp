// Internal to the cluster node's files (cluster_*.cpp): its state, the
// helpers they share, and what each file offers the others. Includes CAF.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/lease_keeper.hpp"
#include "actors/node_protocol.hpp"
#include "actors/pending_tasks.hpp"
#include "metrics/metrics.hpp"

namespace chatd::cluster {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A live instance whose socket is on this node, and the node it is
// registered with (at `instance.epoch` of its shard).
struct local_instance {
  cluster_instance instance;
  std::string owner;
  std::uint32_t shard = 0;
};

struct peer {
  node_actor actor;
  std::string address;
};

// What this node knows of a shard's lease: the newest epoch it has seen,
// from the store or from a claim, and since when.
struct shard_binding {
  std::string owner;
  std::uint64_t epoch = 0;
  steady::time_point since{};
};

// A shard this node acquired, until every node has handed over its instances.
struct pending_claim {
  std::uint64_t epoch = 0;
  std::set<std::string> waiting;  // nodes not yet heard from
};

// A peer's request that this node's directory decides: how to answer it,
// and the lease epoch a login is granted at.
struct pending_answer {
  caf::response_promise promise;
  std::uint64_t epoch = 0;
};

struct node_state {
  cluster_options options;
  bool leaving = false;
  steady::time_point started = steady::now();
  steady::time_point last_tick = steady::now();
  std::unordered_map<std::string, peer> peers;        // connected, by node name
  std::set<std::string> connecting;                   // addresses with a connect in flight
  std::map<std::string, steady::time_point> lost_at;  // nodes not connected, since when
  std::vector<directory_actor> directories;
  expiry_wheel_actor expiry_wheel;
  std::shared_ptr<lease_gate> gate;
  std::shared_ptr<lease_keeper> keeper;
  std::shared_ptr<const lease_view> view;  // the last committed round's table
  std::vector<shard_binding> bound = std::vector<shard_binding>(shard_count);
  std::map<std::uint32_t, pending_claim> claims;
  std::vector<std::uint64_t> opened = std::vector<std::uint64_t>(shard_count, 0);
  std::unordered_map<caf::actor_addr, local_instance> locals;  // by session actor
  // Sessions whose login is still on its way to the owner.
  std::unordered_map<caf::actor_addr, session_actor> logging_in;
  // How to fail each call in flight to a peer, should that peer be lost.
  std::unordered_map<std::string, std::unordered_map<std::uint64_t, std::function<void()>>>
      in_flight;
  std::uint64_t next_call = 0;
  // Retries waiting for their (retry_atom, id), and peers' requests waiting
  // for a directory's answer (answered_atom, id): the work stays here, the
  // messages name it.
  pending_tasks retries;
  std::unordered_map<std::uint64_t, pending_answer> answers;
  std::uint64_t next_id = 0;
};

using node_pointer = node_actor::stateful_pointer<node_state>;

inline constexpr auto retry_delay = milliseconds(200);
inline constexpr int moved_retries = 5;  // a shard moving between nodes takes about a lease round
inline constexpr auto tick_interval = milliseconds(200);

inline std::uint32_t shard_of(const user_key& key) {
  return shard_of_user(key.sdkappid, key.user_id);
}

inline const directory_actor& directory_of(node_pointer self, const user_key& key) {
  return chatd::shard_of(self->state.directories, key);
}

// The lease holder of the user's shard in the last round's table.
inline std::string owner_of(node_pointer self, const user_key& key) {
  const auto& view = self->state.view;
  return view ? view->shards[shard_of(key)].owner : std::string{};
}

// This node serves requests about the user: it holds the shard's lease and
// every instance of the shard is known here.
inline bool serves(node_pointer self, const user_key& key) {
  const auto shard = shard_of(key);
  const auto& gate = *self->state.gate;
  return !self->state.leaving && gate.admits(shard, gate.held_epoch(shard));
}

inline node_actor node_named(node_pointer self, const std::string& name) {
  if (name == self->state.options.node)
    return caf::actor_cast<node_actor>(self);
  auto it = self->state.peers.find(name);
  return it == self->state.peers.end() ? node_actor{} : it->second.actor;
}

inline bool connected_to_all(node_pointer self) {
  return self->state.peers.size() >= self->state.options.peers.size();
}

// A reply whose answer comes back to this actor as (answered_atom, call,

inline void record(metrics::cluster_op op, metrics::cluster_result result, steady::time_point t0) {
  metrics::cluster_request(op, result, steady::now() - t0);
}

// --- Requests from this node, sent to the user's owner (cluster_requests.cpp)
void login(node_pointer self, login_order& order, reply<login_grant> done);
void logout(node_pointer self, const user_key& key, const std::string& instance_id,
            reply<errc> done);
void renew(node_pointer self, const user_key& key, const std::string& instance_id,
           std::int64_t expires_at_ms, reply<errc> done);
void kick(node_pointer self, const user_key& key, kick_type type, reply<std::size_t> done);
void online(node_pointer self, const user_key& key, reply<online_list> done);
void deliver(node_pointer self, const user_key& key, timeline_entry& entry, std::string& except);
void notify(node_pointer self, const user_key& key, user_notice& notice, std::string& except);
void expired(node_pointer self, const user_key& key, const std::string& instance_id);
// Fails every call in flight to a node that was lost.
void fail_calls_to(node_pointer self, const std::string& node);
void run_retry(node_pointer self, std::uint64_t id);

// --- Requests from peers, for users this node owns (cluster_answers.cpp) --
caf::result<owner_status, errc, std::uint64_t, std::uint64_t> answer_login(
    node_pointer self, cluster_instance& instance);
owner_status answer_adopt(node_pointer self, cluster_instance& instance);
caf::result<owner_status, errc> answer_logout(node_pointer self, const user_key& key,
                                              std::string& instance_id);
caf::result<owner_status, errc> answer_renew(node_pointer self, const user_key& key,
                                             std::string& instance_id, std::int64_t expires_at_ms);
caf::result<owner_status, std::uint64_t> answer_kick(node_pointer self, const user_key& key,
                                                     kick_type type);
caf::result<owner_status, online_list> answer_online(node_pointer self, const user_key& key);
// The directory decided a peer's request (answered_atom).
void answered(node_pointer self, std::uint64_t call, const outcome<cluster_grant>& grant);
void answered(node_pointer self, std::uint64_t call, const outcome<errc>& code);
void answered(node_pointer self, std::uint64_t call, const outcome<std::size_t>& kicked);
void answered(node_pointer self, std::uint64_t call, const outcome<online_list>& online);

// --- Fencing (cluster_fencing.cpp) -----------------------------------------
void fence(node_pointer self, const caf::actor_addr& session, const char* why);
milliseconds orphan_verdict(const cluster_options& o);
void fence_unreachable(node_pointer self);
void woke_up(node_pointer self);

// --- Leases and claims (cluster_claims.cpp) --------------------------------
cluster_instances hand_over(node_pointer self, const shard_epochs& shards,
                            const std::string& claimant);
void send_claims(node_pointer self);
void open_ready_claims(node_pointer self);
void on_round(node_pointer self, std::shared_ptr<const lease_view> view);

// --- Membership (cluster_membership.cpp) -----------------------------------
void add_peer(node_pointer self, const std::string& name, const std::string& address,
              node_actor actor);
void connect(node_pointer self, const std::string& address);
void on_down(node_pointer self, const caf::down_msg& down);

}  // namespace chatd::cluster
