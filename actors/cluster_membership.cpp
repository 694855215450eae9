// Membership: connecting to the configured peers over CAF's middleman (a
// hello trades names), watching them (monitors), and what a loss or a
// return of contact means for this node's instances.
#include <spdlog/spdlog.h>
#include <caf/io/middleman.hpp>

#include "actors/cluster_node_state.hpp"

namespace chatd::cluster {

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
            [=, session = session](owner_status status) {
              record(metrics::cluster_op::adopt, metrics::cluster_result::ok, t0);
              if (status != owner_status::served)
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

}  // namespace chatd::cluster
