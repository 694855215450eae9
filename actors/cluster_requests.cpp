// The cluster node's requests about users, from this node to each user's
// owner (itself included): asked, retried on "moved", failed when the
// owner is lost (docs/CLUSTER.md).
#include <spdlog/spdlog.h>

#include "actors/cluster_node_state.hpp"

namespace chatd::cluster {

namespace {

// Remembers how to fail a call to `node` if that node is lost first.
std::uint64_t track(node_pointer self, const std::string& node, std::function<void()> fail) {
  const auto call = ++self->state.next_call;
  self->state.in_flight[node].emplace(call, std::move(fail));
  return call;
}

// The call was answered (or timed out): false if it was failed already.
bool settle(node_pointer self, const std::string& node, std::uint64_t call) {
  auto it = self->state.in_flight.find(node);
  return it != self->state.in_flight.end() && it->second.erase(call) == 1;
}

}  // namespace

void fail_calls_to(node_pointer self, const std::string& node) {
  auto it = self->state.in_flight.find(node);
  if (it == self->state.in_flight.end())
    return;
  auto calls = std::move(it->second);
  self->state.in_flight.erase(it);
  for (auto& [id, fail] : calls)
    fail();
}

namespace {

// Runs `task` after `delay`.
void after(node_pointer self, milliseconds delay, std::function<void()> task) {
  self->delayed_send(self, delay, retry_atom::value, self->state.retries.add(std::move(task)));
}

}  // namespace

void run_retry(node_pointer self, std::uint64_t id) {
  self->state.retries.run(id);
}

namespace {

// Asks the owner of `key` with `args`; `on_answer(owner, values...)` gets
// the answer and the node that gave it, `on_failure()` a lost node, a
// timeout or "moved" too often. A "moved" answer is retried after a short
// wait, with the lease table then. `Rs` are the answer's values after its
// owner_status.
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
          [=](owner_status status, Rs&... values) {
            if (!settle(self, owner, call))
              return;
            if (status == owner_status::served) {
              record(op, metrics::cluster_result::ok, t0);
              return on_answer(owner, values...);
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

}  // namespace

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
  ask_owner<errc, std::uint64_t, std::uint64_t>(
      self, metrics::cluster_op::login, key, moved_retries,
      [=](const std::string& owner, errc code, std::uint64_t ready_order, std::uint64_t epoch) {
        auto& binding = self->state.bound[shard_of(key)];
        // A grant older than an owner this node has handed the shard's
        // instances to: that owner does not know this one.
        if (code == errc::ok && epoch < binding.epoch)
          code = errc::service_overload;
        if (code != errc::ok) {
          abandon();
          return done(login_grant{code, {}, {}});
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

void logout(node_pointer self, const user_key& key, const std::string& instance_id,
            reply<errc> done) {
  ask_owner<errc>(
      self, metrics::cluster_op::logout, key, moved_retries,
      [done](const std::string&, errc code) { done(code); }, fail_with(done), logout_atom::value,
      key, instance_id);
}

void renew(node_pointer self, const user_key& key, const std::string& instance_id,
           std::int64_t expires_at_ms, reply<errc> done) {
  ask_owner<errc>(
      self, metrics::cluster_op::renew, key, moved_retries,
      [done](const std::string&, errc code) { done(code); }, fail_with(done), renew_atom::value,
      key, instance_id, expires_at_ms);
}

void kick(node_pointer self, const user_key& key, kick_type type, reply<std::size_t> done) {
  ask_owner<std::uint64_t>(
      self, metrics::cluster_op::kick, key, moved_retries,
      [done](const std::string&, std::uint64_t kicked) { done(kicked); }, fail_with(done),
      kick_atom::value, key, type);
}

void online(node_pointer self, const user_key& key, reply<online_list> done) {
  ask_owner<online_list>(
      self, metrics::cluster_op::online, key, moved_retries,
      [done](const std::string&, const online_list& list) { done(list); }, fail_with(done),
      online_atom::value, key);
}

// One-way: to the owner's directory (through its node), or dropped if the
// owner is not connected (the entry stays in the store for a sync).
void deliver(node_pointer self, const user_key& key, timeline_entry& entry, std::string& except) {
  const auto owner = owner_of(self, key);
  if (owner == self->state.options.node)
    return self->send(directory_of(self, key), deliver_atom::value, key, std::move(entry),
                      std::move(except));
  if (auto target = node_named(self, owner))
    self->send(target, deliver_atom::value, key, to_wire(entry), std::move(except));
}

// One-way, as deliver: a notice for instances that are not online is dropped.
void notify(node_pointer self, const user_key& key, user_notice& notice, std::string& except) {
  const auto owner = owner_of(self, key);
  if (owner == self->state.options.node)
    return self->send(directory_of(self, key), notify_atom::value, key, std::move(notice),
                      std::move(except));
  if (auto target = node_named(self, owner))
    self->send(target, notify_atom::value, key, std::move(notice), std::move(except),
               self->state.options.node);
}

void expired(node_pointer self, const user_key& key, const std::string& instance_id) {
  const auto owner = owner_of(self, key);
  if (owner == self->state.options.node)
    return self->send(directory_of(self, key), expired_atom::value, key, instance_id);
  if (auto target = node_named(self, owner))
    self->send(target, expired_atom::value, key, instance_id, self->state.options.node);
}

}  // namespace chatd::cluster
