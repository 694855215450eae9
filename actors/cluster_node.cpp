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

#include "actors/cluster_node_state.hpp"

namespace chatd {
namespace {

using namespace cluster;

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
  return {
      // From this node.
      [=](login_atom, login_order& order, reply<login_grant>& done) {
        login(self, order, std::move(done));
      },
      [=](logout_atom, const user_key& key, const std::string& instance_id, reply<errc>& done) {
        logout(self, key, instance_id, std::move(done));
      },
      [=](renew_atom, const user_key& key, const std::string& instance_id,
          std::int64_t expires_at_ms,
          reply<errc>& done) { renew(self, key, instance_id, expires_at_ms, std::move(done)); },
      [=](kick_atom, const user_key& key, kick_type type, reply<std::size_t>& done) {
        kick(self, key, type, std::move(done));
      },
      [=](online_atom, const user_key& key, reply<online_list>& done) {
        online(self, key, std::move(done));
      },
      [=](deliver_atom, const user_key& key, timeline_entry& entry, std::string& except) {
        deliver(self, key, entry, except);
      },
      [=](notify_atom, const user_key& key, user_notice& notice, std::string& except) {
        notify(self, key, notice, except);
      },
      [=](expired_atom, const user_key& key, const std::string& instance_id) {
        expired(self, key, instance_id);
      },
      [=](leave_atom) {
        // Draining: no more logins here, and the leases go to the other
        // nodes, which claim this node's live instances.
        self->state.leaving = true;
        self->state.keeper->leave();
      },
      // From peers (and from itself: the owner may be this node).
      [=](login_atom, cluster_instance& instance) { return answer_login(self, instance); },
      [=](claim_atom, const shard_epochs& shards, const std::string& claimant) {
        return hand_over(self, shards, claimant);
      },
      [=](adopt_atom, cluster_instance& instance) { return answer_adopt(self, instance); },
      [=](logout_atom, const user_key& key, std::string& instance_id) {
        return answer_logout(self, key, instance_id);
      },
      [=](renew_atom, const user_key& key, std::string& instance_id, std::int64_t expires_at_ms) {
        return answer_renew(self, key, instance_id, expires_at_ms);
      },
      [=](kick_atom, const user_key& key, kick_type type) { return answer_kick(self, key, type); },
      [=](online_atom, const user_key& key) { return answer_online(self, key); },
      // One-way: handed to the directory here whatever the lease table (a
      // directory with no registry for the user drops it).
      [=](deliver_atom atom, const user_key& key, wire_entry& entry, std::string& except) {
        self->send(directory_of(self, key), atom, key, from_wire(std::move(entry)),
                   std::move(except));
      },
      [=](expired_atom atom, const user_key& key, const std::string& instance_id,
          const std::string&) { self->send(directory_of(self, key), atom, key, instance_id); },
      [=](notify_atom atom, const user_key& key, user_notice& notice, std::string& except,
          const std::string&) {
        self->send(directory_of(self, key), atom, key, std::move(notice), std::move(except));
      },
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
      [=](retry_atom, std::uint64_t id) { run_retry(self, id); },
      [=](answered_atom, std::uint64_t call, outcome<cluster_grant>& grant) {
        answered(self, call, grant);
      },
      [=](answered_atom, std::uint64_t call, outcome<errc>& code) { answered(self, call, code); },
      [=](answered_atom, std::uint64_t call, outcome<std::size_t>& kicked) {
        answered(self, call, kicked);
      },
      [=](answered_atom, std::uint64_t call, outcome<online_list>& online) {
        answered(self, call, online);
      },
      [=](lease_atom, std::shared_ptr<const lease_view>& view) { on_round(self, std::move(view)); },
  };
}

}  // namespace

std::chrono::milliseconds cluster_fence_time(const cluster_options& options) {
  // The node that holds the instance notices the loss at most a connection
  // timeout after its owner did, then waits out orphan_verdict; a margin on top.
  return options.connection_timeout + cluster::orphan_verdict(options) + options.timing.margin;
}

void add_cluster_message_types(caf::actor_system_config& config) {
  config.add_message_type<user_key>("chatd::user_key")
      .add_message_type<errc>("chatd::errc")
      .add_message_type<owner_status>("chatd::owner_status")
      .add_message_type<kick_type>("chatd::kick_type")
      .add_message_type<platform>("chatd::platform")
      .add_message_type<wire_entry>("chatd::wire_entry")
      .add_message_type<user_notice>("chatd::user_notice")
      .add_message_type<notice_kind>("chatd::notice_kind")
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
