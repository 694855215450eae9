// One node of a cluster (docs/CLUSTER.md). Every request about a user goes
// to the node that holds the lease on the user's shard (read from the lease
// table, actors/shard_leases.hpp), itself included: one path whatever the
// owner. The owner's directory and registry decide as on a single node;
// kicks and timeline entries reach each instance through its session
// actor, which lives on the node that holds its socket.
//
// Leases: the lease keeper (lease_keeper.hpp) holds this node's leases in
// the linearizable store and hands each round's table here. A shard this
// node has just acquired is claimed: every node hands over its live
// instances of the shard (or shows in the store that it has none), and only
// then are logins admitted (the gate, checked by the registry right before
// each grant). Every grant carries the shard's epoch; a grant of an older
// epoch than one this node has handed its instances to is refused.
//
// Fencing: a node that cannot show its instances to their owner ends them,
// so that no instance believes it is online while its owner does not count
// it (cluster_fence_time).
#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <chrono>
#include <map>
#include <set>
#include <unordered_map>

#include "actors/lease_keeper.hpp"
#include "actors/messages.hpp"
#include "metrics/metrics.hpp"

namespace chatd {
namespace {

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
  std::unordered_map<std::string, std::unordered_map<std::uint64_t, local_task>> in_flight;
  std::uint64_t next_call = 0;
};

using node_pointer = node_actor::stateful_pointer<node_state>;

constexpr auto retry_delay = milliseconds(200);
constexpr int moved_retries = 5;  // a shard moving between nodes takes about a lease round
constexpr auto tick_interval = milliseconds(200);

std::uint32_t shard_of(const user_key& key) {
  return shard_of_user(key.sdkappid, key.user_id);
}

const directory_actor& directory_of(node_pointer self, const user_key& key) {
  return chatd::shard_of(self->state.directories, key);
}

// The lease holder of the user's shard in the last round's table.
std::string owner_of(node_pointer self, const user_key& key) {
  const auto& view = self->state.view;
  return view ? view->shards[shard_of(key)].owner : std::string{};
}

// This node serves requests about the user: it holds the shard's lease and
// every instance of the shard is known here.
bool serves(node_pointer self, const user_key& key) {
  const auto shard = shard_of(key);
  const auto& gate = *self->state.gate;
  return !self->state.leaving && gate.admits(shard, gate.held_epoch(shard));
}

node_actor node_named(node_pointer self, const std::string& name) {
  if (name == self->state.options.node)
    return caf::actor_cast<node_actor>(self);
  auto it = self->state.peers.find(name);
  return it == self->state.peers.end() ? node_actor{} : it->second.actor;
}

bool connected_to_all(node_pointer self) {
  return self->state.peers.size() >= self->state.options.peers.size();
}

// Wraps `f` so that another actor's answer runs on this actor's thread
// (where a response promise may be delivered).
template <class T, class F>
reply<T> on_this_actor(node_pointer self, F f) {
  return reply<T>::to([me = caf::actor_cast<node_actor>(self), f](outcome<T> result) mutable {
    caf::anon_send(me, run_atom::value,
                   local_task{[f, result]() mutable { f(std::move(result)); }});
  });
}

// Remembers how to fail a call to `node` if that node is lost first.
std::uint64_t track(node_pointer self, const std::string& node, local_task fail) {
  const auto call = ++self->state.next_call;
  self->state.in_flight[node].emplace(call, std::move(fail));
  return call;
}

// The call was answered (or timed out): false if it was failed already.
bool settle(node_pointer self, const std::string& node, std::uint64_t call) {
  auto it = self->state.in_flight.find(node);
  return it != self->state.in_flight.end() && it->second.erase(call) == 1;
}

void fail_calls_to(node_pointer self, const std::string& node) {
  auto it = self->state.in_flight.find(node);
  if (it == self->state.in_flight.end())
    return;
  auto calls = std::move(it->second);
  self->state.in_flight.erase(it);
  for (auto& [id, fail] : calls)
    fail();
}

void record(metrics::cluster_op op, metrics::cluster_result result, steady::time_point t0) {
  metrics::cluster_request(op, result, steady::now() - t0);
}

void after(node_pointer self, milliseconds delay, local_task task) {
  self->delayed_send(self, delay, run_atom::value, std::move(task));
}

// --- Requests from this node, sent to the user's owner -------------------

// Asks the owner of `key` with `args`; `on_answer(owner, status, values...)`
// gets the answer and the node that gave it, `on_failure()` a lost node, a
// timeout or "moved" too often. A "moved" answer is retried after a short
// wait, with the lease table then. `Rs` are the answer's values after its
// status.
template <class... Rs, class OnAnswer, class OnFailure, class... Args>
void ask_owner(node_pointer self, metrics::cluster_op op, const user_key& key, int retries,
               OnAnswer on_answer, OnFailure on_failure, Args... args) {
  const auto owner = owner_of(self, key);
  auto target = node_named(self, owner);
  if (!target) {
    // The table may be a round old (its owner was lost and the lease is
    // moving): look again shortly, as for "moved".
    if (retries == 0)
      return on_failure();
    return after(self, retry_delay, [=] {
      ask_owner<Rs...>(self, op, key, retries - 1, on_answer, on_failure, args...);
    });
  }
  const auto t0 = steady::now();
  const auto call = track(self, owner, [on_failure] { on_failure(); });
  // A login's grant may wait until the instances it evicts on unreachable
  // nodes are surely fenced (user_registry.cpp, kick_remote).
  const auto timeout = op == metrics::cluster_op::login
                           ? cluster_fence_time(self->state.options) + milliseconds(1000)
                           : self->state.options.request_timeout;
  self->request(target, timeout, args...)
      .then(
          [=](std::int32_t status, Rs&... values) {
            if (!settle(self, owner, call))
              return;
            if (status != moved_status) {
              record(op, metrics::cluster_result::ok, t0);
              return on_answer(owner, status, values...);
            }
            record(op, metrics::cluster_result::moved, t0);
            if (retries == 0)
              return on_failure();
            after(self, retry_delay, [=] {
              ask_owner<Rs...>(self, op, key, retries - 1, on_answer, on_failure, args...);
            });
          },
          [=](caf::error& error) {
            if (!settle(self, owner, call))
              return;
            record(op, metrics::cluster_result::failed, t0);
            spdlog::warn("cluster: no answer from node {}: {}", owner, to_string(error));
            on_failure();
          });
}

void login(node_pointer self, login_order& order, reply<login_grant> done) {
  auto& st = self->state;
  user_key key{order.sdkappid, order.user_id};
  if (st.leaving || owner_of(self, key).empty())
    return done(login_grant{errc::service_overload, {}, {}});
  auto fate = std::make_shared<instance_fate>(std::move(order.sink));
  session_init init{key,
                    instance_ref{order.platform, order.instance_id},
                    order.sig_expires_at_ms,
                    fate,
                    caf::actor_cast<expiry_sink>(self),
                    st.expiry_wheel};
  auto session = spawn_session(self->system(), std::move(init));
  st.logging_in.emplace(session.address(), session);
  cluster_instance instance{key, order.instance_id, order.platform, order.limits, 0, session, 0};
  // Refused or unanswered: the session that was waiting goes, quietly.
  auto abandon = [self, session] {
    self->state.logging_in.erase(session.address());
    caf::anon_send(session, stop_atom::value);
  };
  ask_owner<std::uint64_t, std::uint64_t>(
      self, metrics::cluster_op::login, key, moved_retries,
      [=](const std::string& owner, std::int32_t code, std::uint64_t ready_order,
          std::uint64_t epoch) {
        auto& binding = self->state.bound[shard_of(key)];
        // A grant older than an owner this node has handed the shard's
        // instances to: that owner does not know this one.
        if (code == 0 && epoch < binding.epoch)
          code = static_cast<std::int32_t>(errc::service_overload);
        if (code != 0) {
          abandon();
          return done(login_grant{static_cast<errc>(code), {}, {}});
        }
        if (epoch > binding.epoch)
          binding = shard_binding{owner, epoch, steady::now()};
        self->state.logging_in.erase(session.address());
        auto admitted = instance;
        admitted.ready_order = ready_order;
        admitted.epoch = epoch;
        self->monitor(session);
        self->state.locals[session.address()] = local_instance{admitted, owner, shard_of(key)};
        auto ref = std::make_shared<session_ref>(
            session_ref{session, registry_actor{}, key, instance.instance_id});
        done(login_grant{errc::ok, instance.instance_id, std::move(ref)});
      },
      [=] {
        // No node can admit it now (its shard is moving, or its owner
        // cannot be reached): a refusal to retry, never a guess.
        abandon();
        done(login_grant{errc::service_overload, {}, {}});
      },
      login_atom::value, instance);
}

template <class T>
auto fail_with(reply<T> done) {
  return [done] { done.fail(ask_error::unavailable); };
}

// --- Fencing --------------------------------------------------------------

// Ends a live instance of this node (its connection learns it is lost:
// sdkStateNotReady 70500) because its owner may no longer count it.
void fence(node_pointer self, const caf::actor_addr& session, const char* why) {
  auto it = self->state.locals.find(session);
  if (it == self->state.locals.end())
    return;
  spdlog::warn("cluster: instance {} of user {} ends: {}", it->second.instance.instance_id,
               it->second.instance.key.user_id, why);
  self->send_exit(it->second.instance.session, caf::exit_reason::kill);
  self->demonitor(session);
  self->state.locals.erase(it);
}

// How long after losing contact with an owner this node waits for the
// store to show that the owner's lease moved (the owner is dead or frozen)
// before it ends the instances registered there (the owner may be alive
// and counting them).
milliseconds orphan_verdict(const cluster_options& o) {
  return o.timing.lease + o.timing.margin + 2 * o.timing.renew_interval;
}

// The instances this node cannot show to an owner that counts them.
void fence_unreachable(node_pointer self) {
  auto& st = self->state;
  const auto now = steady::now();
  const bool alone = !connected_to_all(self) && now >= st.keeper->alive_until();
  std::vector<caf::actor_addr> ends;
  for (const auto& [session, local] : st.locals) {
    const auto& binding = st.bound[local.shard];
    if (alone) {
      ends.push_back(session);  // no store and not every node: nobody may know of it
      continue;
    }
    const bool moved = binding.epoch > local.instance.epoch;
    if (moved) {
      // A new owner that has not claimed it in time cannot reach this node.
      if (now - binding.since > st.options.connection_timeout + st.options.timing.margin)
        ends.push_back(session);
      continue;
    }
    if (local.owner == st.options.node)
      continue;
    auto lost = st.lost_at.find(local.owner);
    if (lost != st.lost_at.end() && now - lost->second >= orphan_verdict(st.options))
      ends.push_back(session);
  }
  for (const auto& session : ends)
    fence(self, session,
          alone ? "this node reaches neither the lease store nor every node"
                : "its owner cannot be reached and still holds its lease");
}

// A process paused (SIGSTOP, a stalled VM) for longer than a connection
// timeout may have been given up by every owner: its instances registered
// on other nodes end at once rather than run on what the owners forgot.
void woke_up(node_pointer self) {
  auto& st = self->state;
  const auto now = steady::now();
  const auto gap = now - st.last_tick;
  st.last_tick = now;
  if (gap < st.options.connection_timeout)
    return;
  spdlog::warn("cluster: node {} was paused for {} ms", st.options.node,
               std::chrono::duration_cast<milliseconds>(gap).count());
  std::vector<caf::actor_addr> ends;
  for (const auto& [session, local] : st.locals)
    if (local.owner != st.options.node || !st.gate->holds(local.shard))
      ends.push_back(session);
  for (const auto& session : ends)
    fence(self, session, "this node was paused longer than a connection timeout");
}

// --- Leases and claims ----------------------------------------------------

// The epochs of the shards of which this node has no instance that their
// owner at that epoch might not know: sent with the next lease round.
void publish_synced(node_pointer self) {
  auto& st = self->state;
  std::vector<std::uint64_t> synced(shard_count);
  for (std::uint32_t s = 0; s < shard_count; ++s)
    synced[s] = st.bound[s].epoch;
  for (const auto& [session, local] : st.locals)
    if (local.instance.epoch < st.bound[local.shard].epoch)
      synced[local.shard] = 0;
  // A login on its way needs nothing here: a grant older than `bound` is refused.
  st.keeper->set_synced(std::move(synced));
}

// Hands this node's live instances of `shards` to `claimant`, which holds
// them at the given epochs from now on; refuses (empty) older epochs.
cluster_instances hand_over(node_pointer self, const shard_epochs& shards,
                            const std::string& claimant) {
  auto& st = self->state;
  std::vector<bool> claimed(shard_count, false);
  std::vector<std::uint64_t> epochs(shard_count, 0);
  for (const auto& [shard, epoch] : shards) {
    if (shard >= shard_count || epoch < st.bound[shard].epoch)
      continue;
    if (epoch > st.bound[shard].epoch || st.bound[shard].owner != claimant)
      st.bound[shard] = shard_binding{claimant, epoch, steady::now()};
    claimed[shard] = true;
    epochs[shard] = epoch;
  }
  cluster_instances handed;
  for (auto& [session, local] : st.locals) {
    if (!claimed[local.shard])
      continue;
    if (local.instance.epoch != epochs[local.shard])
      metrics::cluster_reowned(1);
    local.owner = claimant;
    local.instance.epoch = epochs[local.shard];
    handed.push_back(local.instance);
  }
  publish_synced(self);
  return handed;
}

// The nodes that might hold instances of a shard: every node the store
// knows and every node connected, but this one.
std::set<std::string> claim_targets(node_pointer self) {
  auto& st = self->state;
  std::set<std::string> nodes;
  if (st.view)
    for (const auto& n : st.view->nodes)
      nodes.insert(n.node);
  for (const auto& [name, p] : st.peers)
    nodes.insert(name);
  nodes.erase(st.options.node);
  return nodes;
}

void adopt_all(node_pointer self, const cluster_instances& instances) {
  for (const auto& instance : instances)
    self->send(directory_of(self, instance.key), adopt_atom::value, instance);
}

// Whether `node` can hold no instance of `shard` unknown to this node's
// claim at `epoch`: it said so in the store, or it is gone from the store
// and from this node for longer than it takes to fence itself.
bool cleared(node_pointer self, const std::string& node, std::uint32_t shard, std::uint64_t epoch) {
  auto& st = self->state;
  if (!st.view)
    return false;
  for (const auto& n : st.view->nodes) {
    if (n.node != node)
      continue;
    if (shard < n.synced.size() && n.synced[shard] >= epoch)
      return true;
    if (n.live || st.peers.count(node) != 0)
      return false;
    // Without the store and without this node it ends every instance it
    // has (fence_unreachable) once it notices, at most a connection
    // timeout after this node did.
    auto lost = st.lost_at.find(node);
    const auto since = lost == st.lost_at.end() ? st.started : lost->second;
    return steady::now() - since >= st.options.connection_timeout + st.options.timing.margin;
  }
  return st.peers.count(node) == 0;  // never in the store: it never held anything
}

void open_ready_claims(node_pointer self) {
  auto& st = self->state;
  for (auto it = st.claims.begin(); it != st.claims.end();) {
    auto& [shard, claim] = *it;
    if (st.gate->held_epoch(shard) != claim.epoch) {
      it = st.claims.erase(it);  // lost meanwhile
      continue;
    }
    for (auto w = claim.waiting.begin(); w != claim.waiting.end();)
      w = cleared(self, *w, shard, claim.epoch) ? claim.waiting.erase(w) : std::next(w);
    if (!claim.waiting.empty()) {
      ++it;
      continue;
    }
    st.gate->open(shard, claim.epoch);
    st.opened[shard] = claim.epoch;
    it = st.claims.erase(it);
  }
}

// Asks every node still waiting for its instances of the shards it owes.
void send_claims(node_pointer self) {
  auto& st = self->state;
  std::map<std::string, shard_epochs> asks;
  for (const auto& [shard, claim] : st.claims)
    for (const auto& node : claim.waiting)
      if (st.peers.count(node) != 0)
        asks[node].push_back(shard_epoch{shard, claim.epoch});
  for (auto& ask : asks) {
    // Named copies: the answer's lambda outlives this loop.
    const auto node = ask.first;
    const auto shards = ask.second;
    const auto t0 = steady::now();
    self->request(st.peers.at(node).actor, st.options.request_timeout, claim_atom::value, shards,
                  st.options.node)
        .then(
            [=](cluster_instances& instances) {
              record(metrics::cluster_op::claim, metrics::cluster_result::ok, t0);
              adopt_all(self, instances);
              for (const auto& [shard, epoch] : shards) {
                auto it = self->state.claims.find(shard);
                if (it != self->state.claims.end() && it->second.epoch == epoch)
                  it->second.waiting.erase(node);
              }
              open_ready_claims(self);
            },
            [=](caf::error&) {
              record(metrics::cluster_op::claim, metrics::cluster_result::failed, t0);
            });
  }
}

// A committed lease round: who owns what from now on.
void on_round(node_pointer self, std::shared_ptr<const lease_view> view) {
  auto& st = self->state;
  if (!view) {
    fence_unreachable(self);
    metrics::cluster_leases(false, 0);
    return;
  }
  st.view = view;
  std::vector<bool> disown(shard_count, false);
  bool any_disowned = false;
  const auto targets = claim_targets(self);
  shard_epochs mine_now;
  for (std::uint32_t s = 0; s < shard_count; ++s) {
    const auto& lease = view->shards[s];
    if (lease.epoch > st.bound[s].epoch)
      st.bound[s] = shard_binding{lease.owner, lease.epoch, steady::now()};
    const bool held = st.gate->held_epoch(s) == lease.epoch && lease.owner == st.options.node &&
                      st.gate->holds(s);
    if (held && st.opened[s] != lease.epoch && st.claims.count(s) == 0) {
      // Newly acquired: the registries of older epochs go, the instances come again.
      disown[s] = any_disowned = true;
      st.claims[s] = pending_claim{lease.epoch, targets};
      mine_now.push_back(shard_epoch{s, lease.epoch});
    } else if (!held && st.opened[s] != 0 && lease.owner != st.options.node) {
      disown[s] = any_disowned = true;
      st.opened[s] = 0;
    }
  }
  if (any_disowned) {
    auto shards = std::make_shared<const std::vector<bool>>(std::move(disown));
    for (const auto& directory : st.directories)
      self->send(directory, disown_atom::value, shards);
  }
  if (!mine_now.empty()) {
    // This node's own instances of those shards, first (directories are told in order).
    adopt_all(self, hand_over(self, mine_now, st.options.node));
    send_claims(self);
  }
  open_ready_claims(self);
  fence_unreachable(self);
  publish_synced(self);
  std::size_t open = 0;
  for (std::uint32_t s = 0; s < shard_count; ++s)
    open += st.gate->admits(s, st.gate->held_epoch(s)) ? 1 : 0;
  metrics::cluster_leases(true, open);
}

// --- Membership -----------------------------------------------------------

void members_changed(node_pointer self) {
  auto& st = self->state;
  std::string names = st.options.node;
  for (const auto& [name, p] : st.peers)
    names += "," + name;
  spdlog::info("cluster: node {} is connected to {} of {} configured ({})", st.options.node,
               st.peers.size() + 1, st.options.peers.size() + 1, names);
  metrics::cluster_members(st.peers.size() + 1);
}

// After a loss of contact, the owner may have counted this node's
// instances as unreachable and let them go: each is registered there again
// (the owner replays the rule, kicking whoever would not have survived), or
// ended if the owner no longer serves it.
void register_again(node_pointer self, const std::string& owner) {
  auto target = node_named(self, owner);
  for (const auto& [session, local] : self->state.locals) {
    if (local.owner != owner)
      continue;
    const auto t0 = steady::now();
    self->request(target, self->state.options.request_timeout, adopt_atom::value, local.instance)
        .then(
            [=, session = session](std::int32_t status) {
              record(metrics::cluster_op::adopt, metrics::cluster_result::ok, t0);
              if (status != 0)
                fence(self, session, "its owner no longer serves it after a loss of contact");
            },
            [=, session = session](caf::error&) {
              record(metrics::cluster_op::adopt, metrics::cluster_result::failed, t0);
              fence(self, session, "its owner did not take it back after a loss of contact");
            });
  }
}

void add_peer(node_pointer self, const std::string& name, const std::string& address,
              node_actor actor) {
  auto& st = self->state;
  if (name.empty() || name == st.options.node || st.peers.count(name) != 0)
    return;
  self->monitor(actor);
  st.peers.emplace(name, peer{std::move(actor), address});
  const bool was_lost = st.lost_at.erase(name) != 0;
  spdlog::info("cluster: node {} joined ({})", name, address);
  members_changed(self);
  if (was_lost)
    register_again(self, name);
  send_claims(self);
}

void drop_peer(node_pointer self, const std::string& name, const char* why) {
  auto& st = self->state;
  auto it = st.peers.find(name);
  if (it == st.peers.end())
    return;
  self->demonitor(it->second.actor.address());
  st.peers.erase(it);
  st.lost_at[name] = steady::now();
  spdlog::warn("cluster: node {} {}", name, why);
  fail_calls_to(self, name);
  members_changed(self);
  fence_unreachable(self);
}

bool is_connected(node_pointer self, const std::string& address) {
  for (const auto& [name, p] : self->state.peers)
    if (p.address == address)
      return true;
  return false;
}

// Connects to a configured peer without blocking: the middleman's connect,
// then a hello that trades names.
void connect(node_pointer self, const std::string& address) {
  auto& st = self->state;
  if (st.connecting.count(address) != 0 || is_connected(self, address))
    return;
  st.connecting.insert(address);
  const auto [host, port] = split_address(address);
  auto middleman = self->system().middleman().actor_handle();
  self->request(middleman, st.options.connection_timeout, caf::connect_atom::value, host, port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& remote, const std::set<std::string>&) {
            auto actor = caf::actor_cast<node_actor>(remote);
            if (!actor) {
              self->state.connecting.erase(address);
              return;
            }
            self->request(actor, self->state.options.connection_timeout, hello_atom::value,
                          self->state.options.node, self->state.options.listen,
                          caf::actor_cast<caf::actor>(self))
                .then(
                    [=](const std::string& name) {
                      self->state.connecting.erase(address);
                      add_peer(self, name, address, actor);
                    },
                    [=](caf::error&) { self->state.connecting.erase(address); });
          },
          [=](caf::error&) { self->state.connecting.erase(address); });
}

void on_down(node_pointer self, const caf::down_msg& down) {
  auto& st = self->state;
  for (const auto& [name, p] : st.peers) {
    if (p.actor.address() == down.source) {
      const auto lost = name;  // drop_peer erases the entry `name` refers to
      drop_peer(self, lost, "lost");
      return;
    }
  }
  st.locals.erase(down.source);  // a session of this node ended
}

// --- Requests from peers, for users this node owns -------------------------

// Answers a peer's request from the user's directory here: "moved" if this
// node does not serve the user.
template <class T, class... Rs, class Convert, class... Args>
caf::result<std::int32_t, Rs...> answer_from_directory(node_pointer self, const user_key& key,
                                                       Convert convert, Args&&... args) {
  auto promise = self->make_response_promise<std::int32_t, Rs...>();
  if (!serves(self, key)) {
    promise.deliver(moved_status, Rs{}...);
    return promise;
  }
  auto done = on_this_actor<T>(self, [promise, convert](outcome<T> result) mutable {
    if (result.ok())
      convert(promise, std::move(result.value));
    else
      promise.deliver(caf::make_error(caf::sec::request_receiver_down));
  });
  self->send(directory_of(self, key), std::forward<Args>(args)..., std::move(done));
  return promise;
}

node_actor::behavior_type cluster_node(node_pointer self, cluster_options options,
                                       std::vector<directory_actor> directories,
                                       expiry_wheel_actor expiry_wheel,
                                       std::shared_ptr<lease_gate> gate) {
  auto& st = self->state;
  st.options = std::move(options);
  st.directories = std::move(directories);
  st.expiry_wheel = std::move(expiry_wheel);
  st.gate = std::move(gate);
  st.keeper = std::make_shared<lease_keeper>(
      st.options.node, st.options.leases, st.gate, st.options.timing,
      [me = self->address()](std::shared_ptr<const lease_view> view) {
        if (auto node = caf::actor_cast<node_actor>(me))
          caf::anon_send(node, lease_atom::value, std::move(view));
      });
  self->set_down_handler([self](caf::down_msg& down) { on_down(self, down); });
  // Shutdown: this node's sessions end with it (their sockets do too).
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [session, local] : self->state.locals)
      self->send_exit(local.instance.session, msg.reason);
    for (auto& [address, session] : self->state.logging_in)
      self->send_exit(session, msg.reason);
    self->state.keeper.reset();
    self->quit(msg.reason);
  });
  metrics::cluster_members(1);
  self->send(self, tick_atom::value);
  using metrics::cluster_op;
  return {
      // From this node.
      [=](login_atom, login_order& order, reply<login_grant>& done) {
        login(self, order, std::move(done));
      },
      [=](logout_atom atom, const user_key& key, const std::string& instance_id,
          reply<errc>& done) {
        ask_owner(
            self, cluster_op::logout, key, moved_retries,
            [done](const std::string&, std::int32_t code) { done(static_cast<errc>(code)); },
            fail_with(done), atom, key, instance_id);
      },
      [=](renew_atom atom, const user_key& key, const std::string& instance_id,
          std::int64_t expires_at_ms, reply<errc>& done) {
        ask_owner(
            self, cluster_op::renew, key, moved_retries,
            [done](const std::string&, std::int32_t code) { done(static_cast<errc>(code)); },
            fail_with(done), atom, key, instance_id, expires_at_ms);
      },
      [=](kick_atom atom, const user_key& key, kick_type type, reply<std::size_t>& done) {
        ask_owner<std::uint64_t>(
            self, cluster_op::kick, key, moved_retries,
            [done](const std::string&, std::int32_t, std::uint64_t kicked) { done(kicked); },
            fail_with(done), atom, key, type);
      },
      [=](online_atom atom, const user_key& key, reply<online_list>& done) {
        ask_owner<online_list>(
            self, cluster_op::online, key, moved_retries,
            [done](const std::string&, std::int32_t, const online_list& online) { done(online); },
            fail_with(done), atom, key);
      },
      [=](deliver_atom atom, const user_key& key, timeline_entry& entry, std::string& except) {
        const auto owner = owner_of(self, key);
        if (owner == self->state.options.node)
          return self->send(directory_of(self, key), atom, key, std::move(entry),
                            std::move(except));
        if (auto target = node_named(self, owner))
          self->send(target, atom, key, to_wire(entry), std::move(except));
      },
      [=](expired_atom atom, const user_key& key, const std::string& instance_id) {
        const auto owner = owner_of(self, key);
        if (owner == self->state.options.node)
          return self->send(directory_of(self, key), atom, key, instance_id);
        if (auto target = node_named(self, owner))
          self->send(target, atom, key, instance_id, self->state.options.node);
      },
      [=](leave_atom) {
        // Draining: no more logins here, and the leases go to the other
        // nodes, which claim this node's live instances.
        self->state.leaving = true;
        self->state.keeper->leave();
      },
      // From peers (and from itself: the owner may be this node).
      [=](login_atom atom,
          cluster_instance& instance) -> caf::result<std::int32_t, std::uint64_t, std::uint64_t> {
        const auto key = instance.key;
        const auto epoch = self->state.gate->held_epoch(shard_of(key));
        instance.epoch = epoch;
        return answer_from_directory<cluster_grant, std::uint64_t, std::uint64_t>(
            self, key,
            [epoch](auto& promise, cluster_grant grant) {
              if (grant.code == errc::service_overload)  // the lease went meanwhile
                promise.deliver(moved_status, std::uint64_t{0}, std::uint64_t{0});
              else
                promise.deliver(static_cast<std::int32_t>(grant.code), grant.ready_order, epoch);
            },
            atom, std::move(instance));
      },
      [=](claim_atom, const shard_epochs& shards, const std::string& claimant) {
        return hand_over(self, shards, claimant);
      },
      [=](adopt_atom atom, cluster_instance& instance) -> std::int32_t {
        if (!serves(self, instance.key))
          return moved_status;
        const auto key = instance.key;
        self->send(directory_of(self, key), atom, std::move(instance));
        return 0;
      },
      [=](logout_atom atom, const user_key& key,
          std::string& instance_id) -> caf::result<std::int32_t> {
        return answer_from_directory<errc>(
            self, key,
            [](auto& promise, errc code) { promise.deliver(static_cast<std::int32_t>(code)); },
            atom, key, std::move(instance_id));
      },
      [=](renew_atom atom, const user_key& key, std::string& instance_id,
          std::int64_t expires_at_ms) -> caf::result<std::int32_t> {
        return answer_from_directory<errc>(
            self, key,
            [](auto& promise, errc code) { promise.deliver(static_cast<std::int32_t>(code)); },
            atom, key, std::move(instance_id), expires_at_ms);
      },
      [=](kick_atom atom, const user_key& key,
          kick_type type) -> caf::result<std::int32_t, std::uint64_t> {
        return answer_from_directory<std::size_t, std::uint64_t>(
            self, key,
            [](auto& promise, std::size_t kicked) {
              promise.deliver(std::int32_t{0}, static_cast<std::uint64_t>(kicked));
            },
            atom, key, type);
      },
      [=](online_atom atom, const user_key& key) -> caf::result<std::int32_t, online_list> {
        return answer_from_directory<online_list, online_list>(
            self, key,
            [](auto& promise, online_list online) {
              promise.deliver(std::int32_t{0}, std::move(online));
            },
            atom, key);
      },
      // One-way: handed to the directory here whatever the lease table (a
      // directory with no registry for the user drops it).
      [=](deliver_atom atom, const user_key& key, wire_entry& entry, std::string& except) {
        self->send(directory_of(self, key), atom, key, from_wire(std::move(entry)),
                   std::move(except));
      },
      [=](expired_atom atom, const user_key& key, const std::string& instance_id,
          const std::string&) { self->send(directory_of(self, key), atom, key, instance_id); },
      // Membership.
      [=](hello_atom, const std::string& name, const std::string& address,
          const caf::actor& peer_actor) -> std::string {
        add_peer(self, name, address, caf::actor_cast<node_actor>(peer_actor));
        return self->state.options.node;
      },
      [=](leave_atom, const std::string& name) {
        spdlog::info("cluster: node {} leaves (draining)", name);
      },
      [=](tick_atom atom) {
        woke_up(self);
        for (const auto& address : self->state.options.peers)
          connect(self, address);
        send_claims(self);
        open_ready_claims(self);
        fence_unreachable(self);
        self->delayed_send(self, tick_interval, atom);
      },
      [=](run_atom, local_task& task) { task(); },
      [=](lease_atom, std::shared_ptr<const lease_view>& view) { on_round(self, std::move(view)); },
  };
}

}  // namespace

std::chrono::milliseconds cluster_fence_time(const cluster_options& options) {
  // The node that holds the instance notices the loss at most a connection
  // timeout after its owner did, then waits out orphan_verdict; a margin on top.
  return options.connection_timeout + orphan_verdict(options) + options.timing.margin;
}

void add_cluster_message_types(caf::actor_system_config& config) {
  config.add_message_type<user_key>("chatd::user_key")
      .add_message_type<kick_type>("chatd::kick_type")
      .add_message_type<platform>("chatd::platform")
      .add_message_type<wire_entry>("chatd::wire_entry")
      .add_message_type<cluster_instance>("chatd::cluster_instance")
      .add_message_type<cluster_instances>("chatd::cluster_instances")
      .add_message_type<shard_epoch>("chatd::shard_epoch")
      .add_message_type<shard_epochs>("chatd::shard_epochs")
      .add_message_type<online_list>("chatd::online_list");
}

node_actor spawn_cluster_node(caf::actor_system& system, const cluster_options& options,
                              std::vector<directory_actor> directories,
                              expiry_wheel_actor expiry_wheel, std::shared_ptr<lease_gate> gate) {
  return system.spawn(cluster_node, options, std::move(directories), std::move(expiry_wheel),
                      std::move(gate));
}

}  // namespace chatd
