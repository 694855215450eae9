// One node of a cluster (docs/CLUSTER.md). Every request about a user goes
// to the node that owns the user (rendezvous hashing over the live members,
// actors/membership.hpp), itself included: one path whatever the owner. The
// owner's directory and registry decide as on a single node; kicks and
// timeline entries reach each instance through its session actor, which
// lives on the node that holds its socket.
//
// Membership: the static peer list is connected over CAF's middleman (an
// asynchronous connect, retried); each peer's node actor is monitored, and
// its down message (a closed connection, or no heartbeat for
// connection_timeout) is the node's loss. When the members change, this
// node registers each of its live instances whose owner changed with the
// new owner, in their original ready order; the new owner applies the
// limits again. A request in flight to a lost node is failed at once.
#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <chrono>
#include <set>
#include <unordered_map>

#include "actors/messages.hpp"
#include "metrics/metrics.hpp"

namespace chatd {
namespace {

using std::chrono::steady_clock;

// A live instance whose socket is on this node, and the node that owns its user.
struct local_instance {
  cluster_instance instance;
  std::string owner;
};

struct peer {
  node_actor actor;
  std::string address;
};

struct node_state {
  cluster_options options;
  membership view;
  bool leaving = false;
  std::unordered_map<std::string, peer> peers;  // live, by node name
  std::set<std::string> connecting;             // addresses with a connect in flight
  std::vector<directory_actor> directories;
  expiry_wheel_actor expiry_wheel;
  std::unordered_map<caf::actor_addr, local_instance> locals;  // by session actor
  // Sessions whose login is still on its way to the owner.
  std::unordered_map<caf::actor_addr, session_actor> logging_in;
  // How to fail each call in flight to a peer, should that peer be lost.
  std::unordered_map<std::string, std::unordered_map<std::uint64_t, local_task>> in_flight;
  std::uint64_t next_call = 0;
};

using node_pointer = node_actor::stateful_pointer<node_state>;

constexpr auto retry_delay = std::chrono::milliseconds(200);
constexpr int adopt_attempts = 25;  // 5 s of "moved" while the views converge

const directory_actor& directory_of(node_pointer self, const user_key& key) {
  return shard_of(self->state.directories, key);
}

const std::string& owner_of(node_pointer self, const user_key& key) {
  return self->state.view.owner_of(key.sdkappid, key.user_id);
}

bool owns(node_pointer self, const user_key& key) {
  return !self->state.leaving && owner_of(self, key) == self->state.options.node;
}

node_actor node_named(node_pointer self, const std::string& name) {
  if (name == self->state.options.node)
    return caf::actor_cast<node_actor>(self);
  auto it = self->state.peers.find(name);
  return it == self->state.peers.end() ? node_actor{} : it->second.actor;
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

void record(metrics::cluster_op op, metrics::cluster_result result, steady_clock::time_point t0) {
  metrics::cluster_request(op, result, steady_clock::now() - t0);
}

void after(node_pointer self, std::chrono::milliseconds delay, local_task task) {
  self->delayed_send(self, delay, run_atom::value, std::move(task));
}

// --- Requests from this node, sent to the user's owner -------------------

// Asks the owner of `key` with `args`; `on_answer(owner, status, values...)`
// gets the answer and the node that gave it, `on_failure()` a lost node, a timeout or a second
// "moved". A "moved" answer is retried once, after a short wait, with the view then. `Rs` are the
// answer's values after its status.
template <class... Rs, class OnAnswer, class OnFailure, class... Args>
void ask_owner(node_pointer self, metrics::cluster_op op, const user_key& key, bool retried,
               OnAnswer on_answer, OnFailure on_failure, Args... args) {
  const auto owner = owner_of(self, key);
  auto target = node_named(self, owner);
  if (!target)
    return on_failure();
  const auto t0 = steady_clock::now();
  const auto call = track(self, owner, [on_failure] { on_failure(); });
  self->request(target, self->state.options.request_timeout, args...)
      .then(
          [=](std::int32_t status, Rs&... values) {
            if (!settle(self, owner, call))
              return;
            if (status != moved_status) {
              record(op, metrics::cluster_result::ok, t0);
              return on_answer(owner, status, values...);
            }
            record(op, metrics::cluster_result::moved, t0);
            if (retried)
              return on_failure();
            after(self, retry_delay,
                  [=] { ask_owner<Rs...>(self, op, key, true, on_answer, on_failure, args...); });
          },
          [=](caf::error& error) {
            if (!settle(self, owner, call))
              return;
            record(op, metrics::cluster_result::failed, t0);
            spdlog::warn("cluster: no answer from node {}: {}", owner, to_string(error));
            on_failure();
          });
}

void remember_local(node_pointer self, cluster_instance instance, const std::string& owner);

void login(node_pointer self, login_order& order, reply<login_grant> done) {
  auto& st = self->state;
  if (st.leaving || !st.view.has_majority())
    return done(login_grant{errc::service_overload, {}, {}});
  user_key key{order.sdkappid, order.user_id};
  auto fate = std::make_shared<instance_fate>(std::move(order.sink));
  session_init init{key,
                    instance_ref{order.platform, order.instance_id},
                    order.sig_expires_at_ms,
                    fate,
                    caf::actor_cast<expiry_sink>(self),
                    st.expiry_wheel};
  auto session = spawn_session(self->system(), std::move(init));
  st.logging_in.emplace(session.address(), session);
  cluster_instance instance{key, order.instance_id, order.platform, order.limits, 0, session};
  // Refused or unanswered: the session that was waiting goes, quietly.
  auto abandon = [self, session] {
    self->state.logging_in.erase(session.address());
    caf::anon_send(session, stop_atom::value);
  };
  ask_owner<std::uint64_t>(
      self, metrics::cluster_op::login, key, false,
      [=](const std::string& owner, std::int32_t code, std::uint64_t ready_order) {
        if (code != 0) {
          abandon();
          return done(login_grant{static_cast<errc>(code), {}, {}});
        }
        self->state.logging_in.erase(session.address());
        auto admitted = instance;
        admitted.ready_order = ready_order;
        remember_local(self, admitted, owner);
        auto ref = std::make_shared<session_ref>(
            session_ref{session, registry_actor{}, key, instance.instance_id});
        done(login_grant{errc::ok, instance.instance_id, std::move(ref)});
      },
      [=] {
        abandon();
        done.fail(ask_error::unavailable);
      },
      login_atom::value, instance);
}

template <class T>
auto fail_with(reply<T> done) {
  return [done] { done.fail(ask_error::unavailable); };
}

// --- Re-ownership ---------------------------------------------------------

void adopt(node_pointer self, caf::actor_addr session, int attempts_left) {
  auto it = self->state.locals.find(session);
  if (it == self->state.locals.end())
    return;  // gone meanwhile
  const auto owner = it->second.owner;
  auto target = node_named(self, owner);
  if (!target)
    return;  // lost again: the next view change moves it
  const auto t0 = steady_clock::now();
  self->request(target, self->state.options.request_timeout, adopt_atom::value, it->second.instance)
      .then(
          [=](std::int32_t status) {
            if (status != moved_status) {
              record(metrics::cluster_op::adopt, metrics::cluster_result::ok, t0);
              return;
            }
            record(metrics::cluster_op::adopt, metrics::cluster_result::moved, t0);
            if (attempts_left > 1)
              return after(self, retry_delay, [=] { adopt(self, session, attempts_left - 1); });
            // The views did not converge in 5 s: the next membership change
            // registers it again.
            spdlog::warn("cluster: node {} kept answering \"moved\" for a live instance", owner);
          },
          [=](caf::error&) {
            record(metrics::cluster_op::adopt, metrics::cluster_result::failed, t0);
          });
}

// Registers `local` with its user's current owner if that is not the node
// it was registered with.
void follow_owner(node_pointer self, const caf::actor_addr& session, local_instance& local) {
  const auto& owner = owner_of(self, local.instance.key);
  if (owner.empty() || owner == local.owner)
    return;
  local.owner = owner;
  metrics::cluster_reowned(1);
  adopt(self, session, adopt_attempts);
}

void remember_local(node_pointer self, cluster_instance instance, const std::string& owner) {
  auto session = instance.session.address();
  self->monitor(instance.session);
  auto& local = self->state.locals[session];
  local = local_instance{std::move(instance), owner};
  // The owner may have changed while the login was on its way.
  follow_owner(self, session, local);
}

void view_changed(node_pointer self) {
  auto& st = self->state;
  std::string members;
  for (const auto& name : st.view.members())
    members += (members.empty() ? "" : ",") + name;
  spdlog::info("cluster: node {} sees {} of {} configured ({}){}", st.options.node,
               st.view.members().size(), st.options.peers.size() + 1, members,
               st.view.has_majority() ? "" : ": no majority, logins refused");
  metrics::cluster_members(st.view.members().size(), st.view.has_majority());
  auto snapshot = std::make_shared<const membership>(st.view);
  for (const auto& directory : st.directories)
    self->send(directory, disown_atom::value, snapshot);
  for (auto& [session, local] : st.locals)
    follow_owner(self, session, local);
}

// --- Membership -----------------------------------------------------------

void add_peer(node_pointer self, const std::string& name, const std::string& address,
              node_actor actor) {
  auto& st = self->state;
  if (name.empty() || name == st.options.node || st.peers.count(name) != 0)
    return;
  self->monitor(actor);
  st.peers.emplace(name, peer{std::move(actor), address});
  spdlog::info("cluster: node {} joined ({})", name, address);
  if (st.view.add(name))
    view_changed(self);
}

void drop_peer(node_pointer self, const std::string& name, const char* why) {
  auto& st = self->state;
  auto it = st.peers.find(name);
  if (it == st.peers.end())
    return;
  self->demonitor(it->second.actor.address());
  st.peers.erase(it);
  spdlog::warn("cluster: node {} {}", name, why);
  fail_calls_to(self, name);
  if (st.view.remove(name))
    view_changed(self);
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

void connect_missing_peers(node_pointer self) {
  if (self->state.leaving)
    return;
  for (const auto& address : self->state.options.peers)
    connect(self, address);
}

// This node drains: it leaves the view (its own included), so its users'
// registries and its live instances go to the other nodes.
void leave(node_pointer self) {
  auto& st = self->state;
  if (st.leaving)
    return;
  st.leaving = true;
  for (const auto& [name, p] : st.peers)
    self->send(p.actor, leave_atom::value, st.options.node);
  st.view.remove(st.options.node);
  view_changed(self);
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
// node does not own the user.
template <class T, class... Rs, class Convert, class... Args>
caf::result<std::int32_t, Rs...> answer_from_directory(node_pointer self, const user_key& key,
                                                       Convert convert, Args&&... args) {
  auto promise = self->make_response_promise<std::int32_t, Rs...>();
  if (!owns(self, key)) {
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
                                       expiry_wheel_actor expiry_wheel) {
  auto& st = self->state;
  st.view = membership(options.node, options.peers.size() + 1);
  st.options = std::move(options);
  st.directories = std::move(directories);
  st.expiry_wheel = std::move(expiry_wheel);
  self->set_down_handler([self](caf::down_msg& down) { on_down(self, down); });
  // Shutdown: this node's sessions end with it (their sockets do too).
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [session, local] : self->state.locals)
      self->send_exit(local.instance.session, msg.reason);
    for (auto& [address, session] : self->state.logging_in)
      self->send_exit(session, msg.reason);
    self->quit(msg.reason);
  });
  metrics::cluster_members(1, st.view.has_majority());
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
            self, cluster_op::logout, key, false,
            [done](const std::string&, std::int32_t code) { done(static_cast<errc>(code)); },
            fail_with(done), atom, key, instance_id);
      },
      [=](renew_atom atom, const user_key& key, const std::string& instance_id,
          std::int64_t expires_at_ms, reply<errc>& done) {
        ask_owner(
            self, cluster_op::renew, key, false,
            [done](const std::string&, std::int32_t code) { done(static_cast<errc>(code)); },
            fail_with(done), atom, key, instance_id, expires_at_ms);
      },
      [=](kick_atom atom, const user_key& key, kick_type type, reply<std::size_t>& done) {
        ask_owner<std::uint64_t>(
            self, cluster_op::kick, key, false,
            [done](const std::string&, std::int32_t, std::uint64_t kicked) { done(kicked); },
            fail_with(done), atom, key, type);
      },
      [=](online_atom atom, const user_key& key, reply<online_list>& done) {
        ask_owner<online_list>(
            self, cluster_op::online, key, false,
            [done](const std::string&, std::int32_t, const online_list& online) { done(online); },
            fail_with(done), atom, key);
      },
      [=](deliver_atom atom, const user_key& key, timeline_entry& entry, std::string& except) {
        const auto& owner = owner_of(self, key);
        if (owner == self->state.options.node)
          return self->send(directory_of(self, key), atom, key, std::move(entry),
                            std::move(except));
        if (auto target = node_named(self, owner))
          self->send(target, atom, key, to_wire(entry), std::move(except));
      },
      [=](expired_atom atom, const user_key& key, const std::string& instance_id) {
        const auto& owner = owner_of(self, key);
        if (owner == self->state.options.node)
          return self->send(directory_of(self, key), atom, key, instance_id);
        if (auto target = node_named(self, owner))
          self->send(target, atom, key, instance_id, self->state.options.node);
      },
      [=](leave_atom) { leave(self); },
      // From peers (and from itself: the owner may be this node).
      [=](login_atom atom, cluster_instance& instance) -> caf::result<std::int32_t, std::uint64_t> {
        const auto key = instance.key;
        return answer_from_directory<cluster_grant, std::uint64_t>(
            self, key,
            [](auto& promise, cluster_grant grant) {
              promise.deliver(static_cast<std::int32_t>(grant.code), grant.ready_order);
            },
            atom, std::move(instance));
      },
      [=](adopt_atom atom, cluster_instance& instance) -> std::int32_t {
        if (!owns(self, instance.key))
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
      // One-way: handed to the directory here whatever this node's view (a
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
        return self->state.leaving ? std::string{} : self->state.options.node;
      },
      [=](leave_atom, const std::string& name) {
        auto& view = self->state.view;
        spdlog::info("cluster: node {} leaves (draining)", name);
        if (view.remove(name))
          view_changed(self);
      },
      [=](tick_atom atom) {
        connect_missing_peers(self);
        self->delayed_send(self, std::chrono::milliseconds(500), atom);
      },
      [=](run_atom, local_task& task) { task(); },
  };
}

}  // namespace

void add_cluster_message_types(caf::actor_system_config& config) {
  config.add_message_type<user_key>("chatd::user_key")
      .add_message_type<kick_type>("chatd::kick_type")
      .add_message_type<platform>("chatd::platform")
      .add_message_type<wire_entry>("chatd::wire_entry")
      .add_message_type<cluster_instance>("chatd::cluster_instance")
      .add_message_type<online_list>("chatd::online_list");
}

node_actor spawn_cluster_node(caf::actor_system& system, const cluster_options& options,
                              std::vector<directory_actor> directories,
                              expiry_wheel_actor expiry_wheel) {
  return system.spawn(cluster_node, options, std::move(directories), std::move(expiry_wheel));
}

}  // namespace chatd
