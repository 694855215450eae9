// Leases and claims: each committed lease round says who owns which shard;
// a shard this node acquired is claimed (every node hands over its live
// instances of it, or shows in the store that it has none) before it is
// opened for logins (docs/CLUSTER.md).
#include <spdlog/spdlog.h>

#include "actors/cluster_node_state.hpp"

namespace chatd::cluster {

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

}  // namespace chatd::cluster
