// One registry actor per (app, user): the single place where that user's
// logins, logouts, expiries and kicks are serialized, so the limits of
// CONTRACT §3 hold under any interleaving. It supervises its session actors
// and retires through the directory when the last one is gone.
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include <unordered_map>

#include "actors/messages.hpp"
#include "metrics/metrics.hpp"

namespace chatd {
namespace {

struct live_session {
  session_actor actor;
  std::shared_ptr<instance_fate> fate;
};
using session_map = std::unordered_map<std::string, live_session>;  // by instance id

struct registry_state {
  user_key key;
  directory_actor directory;
  expiry_wheel_actor expiry_wheel;
  instance_table table;
  // Shared with the hook that takes them down with a registry that dies
  // (user_registry below).
  std::shared_ptr<session_map> sessions = std::make_shared<session_map>();
  std::uint64_t next_ready_order = 0;
  std::uint64_t logins_seen = 0;  // logins the directory routed here
  bool retiring = false;
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

void send_kick(registry_pointer self, const online_instance& victim, const kick_notice& notice) {
  auto& st = self->state;
  auto it = st.sessions->find(victim.instance_id);
  if (it == st.sessions->end())
    return;
  spdlog::info("kick app={} user={} platform={} instance={} type={}{}{}", st.key.sdkappid,
               st.key.user_id, platform_name(victim.platform), victim.instance_id,
               kick_type_name(notice.type), notice.by ? " by=" : "",
               notice.by ? notice.by->instance_id : "");
  // Straight to the connection, then the session actor goes: the kick is
  // not one actor hop behind the answer to the login that caused it.
  it->second.fate->kicked(notice);
  self->send(it->second.actor, stop_atom::value);
  self->demonitor(it->second.actor.address());
  st.sessions->erase(it);
  metrics::instance_kicked(st.key.sdkappid, notice.type);
  metrics::instance_offline(st.key.sdkappid, victim.platform);
}

// Takes an instance out of the table (not a kick); false if it was not there.
bool forget(registry_state& st, const std::string& instance_id) {
  const auto* instance = st.table.find(instance_id);
  if (instance == nullptr)
    return false;
  const auto p = instance->platform;
  st.table.remove(instance_id);
  metrics::instance_offline(st.key.sdkappid, p);
  return true;
}

// Tells the directory we may be retired once no instance is left. The
// directory only agrees if it routed us no login we have not seen yet.
void offer_retirement(registry_pointer self) {
  auto& st = self->state;
  if (!st.table.empty() || st.retiring)
    return;
  st.retiring = true;
  self->send(st.directory, retire_atom::value, st.key, st.logins_seen);
}

login_grant admit(registry_pointer self, login_order& order) {
  auto& st = self->state;
  ++st.logins_seen;
  st.retiring = false;
  online_instance incoming{order.instance_id, order.platform, st.next_ready_order++};
  const instance_ref newcomer{order.platform, order.instance_id};
  for (const auto& evicted : st.table.admit(incoming, order.limits))
    send_kick(self, evicted.instance, kick_notice{evicted.type, newcomer});

  auto fate = std::make_shared<instance_fate>(std::move(order.sink));
  session_init init{newcomer, order.sig_expires_at_ms, fate, caf::actor_cast<registry_actor>(self),
                    st.expiry_wheel};
  auto session = spawn_session(self->system(), std::move(init));
  self->monitor(session);
  st.sessions->emplace(order.instance_id, live_session{session, std::move(fate)});
  metrics::instance_online(order.sdkappid, order.platform);
  auto ref = std::make_shared<session_ref>(
      session_ref{session, caf::actor_cast<registry_actor>(self), order.instance_id});
  return login_grant{errc::ok, order.instance_id, std::move(ref)};
}

errc take_offline(registry_pointer self, const std::string& instance_id) {
  auto& st = self->state;
  auto it = st.sessions->find(instance_id);
  if (it == st.sessions->end())
    return errc::not_logged_in;
  it->second.fate->ended_quietly();
  self->send(it->second.actor, stop_atom::value);
  self->demonitor(it->second.actor.address());
  st.sessions->erase(it);
  forget(st, instance_id);
  offer_retirement(self);
  return errc::ok;
}

void expire(registry_pointer self, const std::string& instance_id) {
  auto& st = self->state;
  if (const auto* instance = st.table.find(instance_id)) {
    send_kick(self, *instance, kick_notice{kick_type::usersig_expired, std::nullopt});
    st.table.remove(instance_id);
  }
  offer_retirement(self);
}

std::size_t kick_all(registry_pointer self, kick_type type) {
  auto& st = self->state;
  const auto victims = st.table.instances();
  for (const auto& victim : victims) {
    send_kick(self, victim, kick_notice{type, std::nullopt});
    st.table.remove(victim.instance_id);
  }
  offer_retirement(self);
  return victims.size();
}

void on_session_down(registry_pointer self, const caf::down_msg& down) {
  auto& st = self->state;
  for (auto it = st.sessions->begin(); it != st.sessions->end(); ++it) {
    if (it->second.actor.address() == down.source) {
      spdlog::warn("session ended unexpectedly app={} user={} instance={} reason={}",
                   st.key.sdkappid, st.key.user_id, it->first, to_string(down.reason));
      forget(st, it->first);
      st.sessions->erase(it);
      break;
    }
  }
  offer_retirement(self);
}

registry_actor::behavior_type user_registry(registry_pointer self, user_key key,
                                            directory_actor directory,
                                            expiry_wheel_actor expiry_wheel) {
  self->state.key = std::move(key);
  self->state.directory = std::move(directory);
  self->state.expiry_wheel = std::move(expiry_wheel);
  self->set_down_handler([self](caf::down_msg& down) { on_session_down(self, down); });
  // Whatever ends this registry (a crash, a kill), its instances end with
  // it: their connections learn it (sdkStateNotReady 70500) and the user
  // can log in again under a new registry (the directory forgets this one).
  self->attach_functor([sessions = self->state.sessions](const caf::error&) {
    for (auto& [id, session] : *sessions)
      caf::anon_send_exit(session.actor, caf::exit_reason::kill);
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, session] : *self->state.sessions)
      self->send_exit(session.actor, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [=](login_atom, login_order& order, reply<login_grant>& done) { done(admit(self, order)); },
      [=](logout_atom, const std::string& instance_id, reply<errc>& done) {
        done(take_offline(self, instance_id));
      },
      [=](renew_atom, const std::string& instance_id, std::int64_t expires_at_ms,
          reply<errc>& done) {
        auto it = self->state.sessions->find(instance_id);
        if (it == self->state.sessions->end())
          return done(errc::not_logged_in);
        self->send(it->second.actor, renew_atom::value, expires_at_ms);
        done(errc::ok);
      },
      [=](kick_atom, kick_type type, reply<std::size_t>& done) { done(kick_all(self, type)); },
      [=](online_atom, reply<online_list>& done) { done(self->state.table.instances()); },
      [=](deliver_atom, const timeline_entry& entry, const std::string& except) {
        for (auto& [id, session] : *self->state.sessions)
          if (id != except)
            session.fate->deliver(entry);
      },
      [=](expired_atom, const std::string& instance_id) { expire(self, instance_id); },
      [=](retire_atom) { self->quit(); },
  };
}

}  // namespace

registry_actor spawn_user_registry(caf::actor_system& system, user_key key,
                                   directory_actor directory, expiry_wheel_actor expiry_wheel) {
  return system.spawn<caf::lazy_init>(user_registry, std::move(key), std::move(directory),
                                      std::move(expiry_wheel));
}

}  // namespace chatd
