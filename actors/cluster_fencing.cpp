// Fencing: a node that cannot show its instances to their owner ends them,
// so that no instance believes it is online while its owner does not count
// it (cluster_fence_time, docs/CLUSTER.md).
#include <spdlog/spdlog.h>

#include "actors/cluster_node_state.hpp"

namespace chatd::cluster {

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

}  // namespace chatd::cluster
