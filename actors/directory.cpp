// A directory shard maps (app, user) to that user's registry actor, spawning
// it on first login. A registry leaves only when the directory confirms that
// no login is on its way to it, so no user ever has two registries.
#include <caf/all.hpp>

#include <unordered_map>

#include "actors/directory_protocol.hpp"

namespace chatd {
namespace {

struct registry_entry {
  registry_actor registry;
  std::uint64_t logins_routed = 0;
};

struct directory_state {
  std::unordered_map<user_key, registry_entry, user_key_hash> registries;
  expiry_wheel_actor expiry_wheel;
  std::shared_ptr<const registry_fencing> fencing;
};

using directory_pointer = directory_actor::stateful_pointer<directory_state>;

registry_entry& registry_for(directory_pointer self, const user_key& key) {
  auto& registries = self->state.registries;
  auto it = registries.find(key);
  if (it == registries.end()) {
    auto registry = spawn_user_registry(self->system(), key, caf::actor_cast<directory_actor>(self),
                                        self->state.expiry_wheel, self->state.fencing);
    self->monitor(registry);
    it = registries.emplace(key, registry_entry{std::move(registry), 0}).first;
  }
  return it->second;
}

registry_actor find_registry(directory_pointer self, const user_key& key) {
  auto it = self->state.registries.find(key);
  return it == self->state.registries.end() ? registry_actor{} : it->second.registry;
}

// Shards whose lease moved (to another node, or to a new epoch here): their
// users leave this node's registries without a kick (their instances are
// registered with the shard's owner by the nodes their sessions live on).
void disown_shards(directory_pointer self, const std::vector<bool>& shards) {
  auto& registries = self->state.registries;
  for (auto it = registries.begin(); it != registries.end();) {
    if (!shards[shard_of_user(it->first.sdkappid, it->first.user_id)]) {
      ++it;
      continue;
    }
    self->send(it->second.registry, disown_atom::value);
    self->demonitor(it->second.registry.address());
    it = registries.erase(it);
  }
}

directory_actor::behavior_type directory(directory_pointer self, expiry_wheel_actor expiry_wheel,
                                         std::shared_ptr<const registry_fencing> fencing) {
  self->state.expiry_wheel = std::move(expiry_wheel);
  self->state.fencing = std::move(fencing);
  // A registry that died (not one that retired: it is gone from the map
  // already) is forgotten, so that its users' next logins get a new one.
  self->set_down_handler([self](caf::down_msg& down) {
    auto& registries = self->state.registries;
    for (auto it = registries.begin(); it != registries.end(); ++it) {
      if (it->second.registry.address() == down.source) {
        registries.erase(it);
        return;
      }
    }
  });
  // Shutdown cascades: directory -> registries -> sessions.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [key, entry] : self->state.registries)
      self->send_exit(entry.registry, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [=](login_atom atom, login_order& order, reply<login_grant>& done) {
        auto& entry = registry_for(self, user_key{order.sdkappid, order.user_id});
        ++entry.logins_routed;
        self->send(entry.registry, atom, std::move(order), std::move(done));
      },
      [=](login_atom atom, cluster_instance& instance, reply<cluster_grant>& done) {
        auto& entry = registry_for(self, instance.key);
        ++entry.logins_routed;
        self->send(entry.registry, atom, std::move(instance), std::move(done));
      },
      [=](adopt_atom atom, cluster_instance& instance) {
        auto& entry = registry_for(self, instance.key);
        ++entry.logins_routed;
        self->send(entry.registry, atom, std::move(instance));
      },
      [=](logout_atom atom, const user_key& key, std::string& instance_id, reply<errc>& done) {
        if (auto registry = find_registry(self, key))
          self->send(registry, atom, std::move(instance_id), std::move(done));
        else
          done(errc::not_logged_in);
      },
      [=](renew_atom atom, const user_key& key, std::string& instance_id,
          std::int64_t expires_at_ms, reply<errc>& done) {
        if (auto registry = find_registry(self, key))
          self->send(registry, atom, std::move(instance_id), expires_at_ms, std::move(done));
        else
          done(errc::not_logged_in);
      },
      [=](expired_atom atom, const user_key& key, const std::string& instance_id) {
        if (auto registry = find_registry(self, key))
          self->send(registry, atom, key, instance_id);
      },
      [=](disown_atom, const std::shared_ptr<const std::vector<bool>>& shards) {
        disown_shards(self, *shards);
      },
      [=](retire_atom atom, const user_key& key, std::uint64_t logins_seen) {
        auto it = self->state.registries.find(key);
        if (it == self->state.registries.end() || it->second.logins_routed != logins_seen ||
            it->second.registry.address() != self->current_sender())
          return;  // a login is still on its way; the registry lives on
        self->send(it->second.registry, atom);
        self->demonitor(it->second.registry.address());
        self->state.registries.erase(it);
      },
      [=](kick_atom atom, const user_key& key, kick_type type, reply<std::size_t>& done) {
        if (auto registry = find_registry(self, key))
          self->send(registry, atom, type, std::move(done));
        else
          done(0);
      },
      // No registry: the user has no instance online; the entry waits in the store.
      [=](deliver_atom atom, const user_key& key, timeline_entry& entry, std::string& except) {
        if (auto registry = find_registry(self, key))
          self->send(registry, atom, std::move(entry), std::move(except));
      },
      [=](notify_atom atom, const user_key& key, user_notice& notice, std::string& except) {
        if (auto registry = find_registry(self, key))
          self->send(registry, atom, std::move(notice), std::move(except));
      },
      [=](online_atom atom, const user_key& key, reply<online_list>& done) {
        if (auto registry = find_registry(self, key))
          self->send(registry, atom, std::move(done));
        else
          done({});
      },
  };
}

}  // namespace

directory_actor spawn_directory(caf::actor_system& system, expiry_wheel_actor expiry_wheel,
                                std::shared_ptr<const registry_fencing> fencing) {
  return system.spawn(directory, std::move(expiry_wheel), std::move(fencing));
}

}  // namespace chatd
