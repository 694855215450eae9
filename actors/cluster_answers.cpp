// The cluster node's answers to its peers' requests about the users whose
// shards it serves: decided by its own directories, delivered on its own
// thread (a directory answers by message, answered_atom), "moved" at once
// for a user it does not serve.
#include <spdlog/spdlog.h>

#include "actors/cluster_node_state.hpp"

namespace chatd::cluster {

namespace {

// outcome): a response promise is delivered on its own actor's thread.
template <class T>
reply<T> answer_to_self(node_pointer self, std::uint64_t call) {
  return reply<T>::to([me = caf::actor_cast<node_actor>(self), call](outcome<T> result) {
    caf::anon_send(me, answered_atom::value, call, std::move(result));
  });
}

// Answers a peer's request from the user's directory here, once it has
// decided (answered below): "moved" at once if this node does not serve
// the user. `Rs` are the answer's values after its owner_status.
template <class T, class... Rs, class... Args>
caf::result<owner_status, Rs...> answer_from_directory(node_pointer self, const user_key& key,
                                                       std::uint64_t epoch, Args&&... args) {
  auto promise = self->make_response_promise();
  if (!serves(self, key)) {
    promise.deliver(owner_status::moved, Rs{}...);
    return promise;
  }
  const auto call = ++self->state.next_id;
  self->state.answers.emplace(call, pending_answer{promise, epoch});
  self->send(directory_of(self, key), std::forward<Args>(args)..., answer_to_self<T>(self, call));
  return promise;
}

// The directory's answer to a peer's request: the promise it waited on,
// or (the directory is gone) an error to the peer.
std::optional<pending_answer> take_answer(node_pointer self, std::uint64_t call, ask_error error) {
  auto it = self->state.answers.find(call);
  if (it == self->state.answers.end())
    return std::nullopt;
  auto pending = std::move(it->second);
  self->state.answers.erase(it);
  if (error == ask_error::none)
    return pending;
  pending.promise.deliver(caf::make_error(caf::sec::request_receiver_down));
  return std::nullopt;
}

}  // namespace

void answered(node_pointer self, std::uint64_t call, const outcome<cluster_grant>& grant) {
  auto pending = take_answer(self, call, grant.error);
  if (!pending)
    return;
  if (grant.value.code == errc::service_overload)  // the lease went meanwhile
    pending->promise.deliver(owner_status::moved, errc::ok, std::uint64_t{0}, std::uint64_t{0});
  else
    pending->promise.deliver(owner_status::served, grant.value.code, grant.value.ready_order,
                             pending->epoch);
}

namespace {

template <class T>
void deliver_served(node_pointer self, std::uint64_t call, const outcome<T>& result) {
  if (auto pending = take_answer(self, call, result.error))
    pending->promise.deliver(owner_status::served, result.value);
}

}  // namespace

void answered(node_pointer self, std::uint64_t call, const outcome<errc>& code) {
  deliver_served(self, call, code);
}

void answered(node_pointer self, std::uint64_t call, const outcome<std::size_t>& kicked) {
  deliver_served(self, call, kicked);
}

void answered(node_pointer self, std::uint64_t call, const outcome<online_list>& online) {
  deliver_served(self, call, online);
}

caf::result<owner_status, errc, std::uint64_t, std::uint64_t> answer_login(
    node_pointer self, cluster_instance& instance) {
  const auto key = instance.key;
  const auto epoch = self->state.gate->held_epoch(shard_of(key));
  instance.epoch = epoch;
  return answer_from_directory<cluster_grant, errc, std::uint64_t, std::uint64_t>(
      self, key, epoch, login_atom::value, std::move(instance));
}

owner_status answer_adopt(node_pointer self, cluster_instance& instance) {
  if (!serves(self, instance.key))
    return owner_status::moved;
  const auto key = instance.key;
  self->send(directory_of(self, key), adopt_atom::value, std::move(instance));
  return owner_status::served;
}

caf::result<owner_status, errc> answer_logout(node_pointer self, const user_key& key,
                                              std::string& instance_id) {
  return answer_from_directory<errc, errc>(self, key, 0, logout_atom::value, key,
                                           std::move(instance_id));
}

caf::result<owner_status, errc> answer_renew(node_pointer self, const user_key& key,
                                             std::string& instance_id, std::int64_t expires_at_ms) {
  return answer_from_directory<errc, errc>(self, key, 0, renew_atom::value, key,
                                           std::move(instance_id), expires_at_ms);
}

caf::result<owner_status, std::uint64_t> answer_kick(node_pointer self, const user_key& key,
                                                     kick_type type) {
  return answer_from_directory<std::size_t, std::uint64_t>(self, key, 0, kick_atom::value, key,
                                                           type);
}

caf::result<owner_status, online_list> answer_online(node_pointer self, const user_key& key) {
  return answer_from_directory<online_list, online_list>(self, key, 0, online_atom::value, key);
}

}  // namespace chatd::cluster
