// One registry actor per (app, user): the single place where that user's
// logins, logouts, expiries and kicks are serialized, so the limits of
// CONTRACT §3 hold under any interleaving. It supervises its session actors
// and retires through the directory when the last one is gone.
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <unordered_map>

#include "actors/directory_protocol.hpp"
#include "actors/pending_tasks.hpp"
#include "actors/registry_table.hpp"
#include "metrics/metrics.hpp"

namespace chatd {
namespace {

// A cluster login's grant, held back until each instance it evicted on
// another node has been told (or is surely fenced by its node).
struct held_grant {
  reply<cluster_grant> done;
  cluster_grant grant;
  int waiting = 0;
  // Checks, when the wait is over, that the grant may still be given.
  std::function<bool()> still_valid;
  void one_done() {
    if (--waiting != 0)
      return;
    if (still_valid && !still_valid())
      return done(cluster_grant{errc::service_overload, 0});
    done(grant);
  }
};

struct registry_state {
  user_key key;
  std::shared_ptr<const registry_fencing> fencing;  // null on a single node
  std::uint32_t shard = 0;
  directory_actor directory;
  expiry_wheel_actor expiry_wheel;
  // Shared with the hook that takes its sessions down with a registry that
  // dies (user_registry below).
  std::shared_ptr<registry_table> table = std::make_shared<registry_table>();
  std::uint64_t logins_seen = 0;  // logins the directory routed here
  bool retiring = false;
  // Kicks of instances on other nodes not yet acknowledged nor surely
  // fenced, with the grants that wait for them: such an instance may still
  // believe it is online, so no login is granted beside it.
  std::uint64_t last_kick = 0;
  std::unordered_map<std::uint64_t, std::vector<std::shared_ptr<held_grant>>> unsettled_kicks;
  pending_tasks timers;  // at()'s, each woken by its (due_atom, id)
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

using steady = std::chrono::steady_clock;

void offer_retirement(registry_pointer self);

// Runs `task` on this registry at `when` (at once if it has passed).
void at(registry_pointer self, steady::time_point when, std::function<void()> task) {
  const auto wait = when - steady::now();
  if (wait <= steady::duration::zero())
    return task();
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(wait),
                     due_atom::value, self->state.timers.add(std::move(task)));
}

// A kick to a session on another node is settled once its connection was
// told (acknowledged), or once the instance is surely gone without that:
// `fence_time` after the kick, or after the loss of the link for a session
// whose link was lost already (its node has fenced it by then).
void kick_remote(registry_pointer self, const live_session& victim, const kick_notice& notice) {
  auto& st = self->state;
  const auto fence_time = st.fencing ? st.fencing->fence_time : std::chrono::milliseconds(0);
  const auto id = ++st.last_kick;
  st.unsettled_kicks[id];
  auto settle = [self, id] {
    auto& kicks = self->state.unsettled_kicks;
    auto it = kicks.find(id);
    if (it == kicks.end())
      return;
    auto waiting = std::move(it->second);
    kicks.erase(it);
    for (auto& grant : waiting)
      grant->one_done();
    offer_retirement(self);
  };
  if (victim.fenced_by)
    return at(self, *victim.fenced_by, settle);
  const auto fenced_by = steady::now() + fence_time;
  self->request(victim.actor, fence_time + std::chrono::milliseconds(1), kicked_atom::value,
                notice.type, notice.by ? notice.by->instance_id : std::string{},
                notice.by ? notice.by->platform : platform::web)
      .then([settle](bool) { settle(); },
            [self, settle, fenced_by](caf::error&) { at(self, fenced_by, settle); });
}

// Kicks an instance already taken out of the table.
void send_kick(registry_pointer self, removed_instance& victim, const kick_notice& notice) {
  auto& st = self->state;
  const auto& instance = victim.instance;
  spdlog::info("kick app={} user={} platform={} instance={} type={}{}{}", st.key.sdkappid,
               st.key.user_id, platform_name(instance.platform), instance.instance_id,
               kick_type_name(notice.type), notice.by ? " by=" : "",
               notice.by ? notice.by->instance_id : "");
  // Straight to the connection, then the session actor goes: the kick is
  // not one actor hop behind the answer to the login that caused it.
  if (victim.session.fate) {
    victim.session.fate->kicked(notice);
    self->send(victim.session.actor, stop_atom::value);
  } else {
    kick_remote(self, victim.session, notice);
  }
  self->demonitor(victim.session.actor.address());
  metrics::instance_kicked(st.key.sdkappid, notice.type);
  metrics::instance_offline(st.key.sdkappid, instance.platform);
}

// Takes an instance out of the table (not a kick): it no longer counts.
// Returns its session (to stop or forget), if it was there.
std::optional<live_session> forget(registry_pointer self, const std::string& instance_id) {
  auto& st = self->state;
  auto removed = st.table->remove(instance_id);
  if (!removed)
    return std::nullopt;
  self->demonitor(removed->session.actor.address());
  metrics::instance_offline(st.key.sdkappid, removed->instance.platform);
  return std::move(removed->session);
}

// Tells the directory we may be retired once no instance is left. The
// directory only agrees if it routed us no login we have not seen yet.
void offer_retirement(registry_pointer self) {
  auto& st = self->state;
  // A kick not yet settled keeps the registry: the next login must wait for it.
  if (!st.table->empty() || st.retiring || !st.unsettled_kicks.empty())
    return;
  st.retiring = true;
  self->send(st.directory, retire_atom::value, st.key, st.logins_seen);
}

// Admits a new instance under the limits, kicking what it evicts, and
// starts supervising its session.
void admit(registry_pointer self, const online_instance& incoming, const login_limits& limits,
           live_session session) {
  auto& st = self->state;
  ++st.logins_seen;
  st.retiring = false;
  const instance_ref newcomer{incoming.platform, incoming.instance_id};
  self->monitor(session.actor);
  auto evicted = st.table->admit(incoming, limits, std::move(session));
  metrics::instance_online(st.key.sdkappid, incoming.platform);
  for (auto& e : evicted)
    send_kick(self, e.removed, kick_notice{e.type, newcomer});
}

login_grant admit_local(registry_pointer self, login_order& order) {
  auto& st = self->state;
  const online_instance incoming{order.instance_id, order.platform, st.table->next_ready_order()};
  auto fate = std::make_shared<instance_fate>(std::move(order.sink));
  session_init init{
      st.key, instance_ref{order.platform, order.instance_id}, order.sig_expires_at_ms,
      fate,   caf::actor_cast<registry_actor>(self),           st.expiry_wheel};
  auto session = spawn_session(self->system(), std::move(init));
  admit(self, incoming, order.limits, live_session{session, std::move(fate), std::nullopt});
  auto ref = std::make_shared<session_ref>(
      session_ref{session, caf::actor_cast<registry_actor>(self), st.key, order.instance_id});
  return login_grant{errc::ok, order.instance_id, std::move(ref)};
}

// A login whose session lives on some node: granted only under a lease
// this node holds now at the epoch the login was routed under (checked
// here, right before the admission: a node that was paused must not grant
// on a lease it lost meanwhile), and answered once its evictions are done.
void admit_cluster(registry_pointer self, const cluster_instance& instance,
                   reply<cluster_grant> done) {
  auto& st = self->state;
  if (st.fencing && !st.fencing->gate->admits(st.shard, instance.epoch))
    return done(cluster_grant{errc::service_overload, 0});
  const online_instance incoming{instance.instance_id, instance.platform,
                                 st.table->next_ready_order()};
  admit(self, incoming, instance.limits, live_session{instance.session, nullptr, std::nullopt});
  // Held until every kick still unsettled here is (this login's own and
  // any earlier one: an evicted instance counts until it is surely gone).
  auto hold = std::make_shared<held_grant>(
      held_grant{std::move(done), cluster_grant{errc::ok, incoming.ready_order}, 1, {}});
  // A grant that waited may outlive the lease it was decided under (the
  // shard moved meanwhile and its new owner does not know this instance):
  // then the newcomer is taken out again and refused, never granted late.
  if (st.fencing)
    hold->still_valid = [self, id = incoming.instance_id, epoch = instance.epoch] {
      auto& st = self->state;
      if (st.fencing->gate->admits(st.shard, epoch))
        return true;
      forget(self, id);
      offer_retirement(self);
      return false;
    };
  for (auto& [id, waiting] : st.unsettled_kicks) {
    waiting.push_back(hold);
    ++hold->waiting;
  }
  hold->one_done();
}

// An instance admitted under another registry of this user (it lived on a
// node that left or no longer owns the user): the limits are applied again
// over everyone in ready order, and whoever would not have survived goes.
void adopt(registry_pointer self, const cluster_instance& instance) {
  auto& st = self->state;
  ++st.logins_seen;  // routed here like a login
  if (st.table->find(instance.instance_id) != nullptr) {
    // Counted as unreachable until now: its node is back, with a live handle.
    auto* session = st.table->session(instance.instance_id);
    if (session != nullptr && session->fenced_by) {
      *session = live_session{instance.session, nullptr, std::nullopt};
      self->monitor(instance.session);
    }
    return;
  }
  st.retiring = false;
  self->monitor(instance.session);
  const online_instance adopted{instance.instance_id, instance.platform, instance.ready_order};
  auto evicted = st.table->adopt(adopted, instance.limits,
                                 live_session{instance.session, nullptr, std::nullopt});
  metrics::instance_online(st.key.sdkappid, instance.platform);
  for (auto& e : evicted)
    send_kick(self, e.removed, kick_notice{e.type, instance_ref{e.by.platform, e.by.instance_id}});
  offer_retirement(self);
}

errc take_offline(registry_pointer self, const std::string& instance_id) {
  auto session = forget(self, instance_id);
  if (!session)
    return errc::not_logged_in;
  if (session->fate)
    session->fate->ended_quietly();
  self->send(session->actor, stop_atom::value);
  offer_retirement(self);
  return errc::ok;
}

void expire(registry_pointer self, const std::string& instance_id) {
  if (auto removed = self->state.table->remove(instance_id))
    send_kick(self, *removed, kick_notice{kick_type::usersig_expired, std::nullopt});
  offer_retirement(self);
}

std::size_t kick_all(registry_pointer self, kick_type type) {
  auto victims = self->state.table->remove_all();
  for (auto& victim : victims)
    send_kick(self, victim, kick_notice{type, std::nullopt});
  offer_retirement(self);
  return victims.size();
}

void deliver(registry_pointer self, const timeline_entry& entry, const std::string& except) {
  std::optional<wire_entry> by_value;  // made once, for sessions reached through their actor
  for (const auto& [id, session] : self->state.table->sessions()) {
    if (id == except)
      continue;
    if (session.fate) {
      session.fate->deliver(entry);
      continue;
    }
    if (!by_value)
      by_value = to_wire(entry);
    self->send(session.actor, deliver_atom::value, *by_value);
  }
}

void notify(registry_pointer self, const user_notice& notice, const std::string& except) {
  for (const auto& [id, session] : self->state.table->sessions()) {
    if (id == except)
      continue;
    if (session.fate)
      session.fate->notify(notice);
    else
      self->send(session.actor, notify_atom::value, notice);
  }
}

// The user moved to another node's registry: every instance stays online
// (the other nodes register them there) and this one leaves, kicking no one.
void disown(registry_pointer self) {
  for (const auto& removed : self->state.table->remove_all()) {
    metrics::instance_offline(self->state.key.sdkappid, removed.instance.platform);
    self->demonitor(removed.session.actor.address());
  }
  self->quit();
}

// A session on a node this one lost contact with: it may still believe
// it is online until its node fences it, so it counts until then.
void hold_as_unreachable(registry_pointer self, const std::string& instance_id,
                         live_session& session) {
  const auto fenced_by = steady::now() + self->state.fencing->fence_time;
  session.fenced_by = fenced_by;
  at(self, fenced_by, [self, instance_id, fenced_by] {
    auto& st = self->state;
    const auto* session = st.table->session(instance_id);
    if (session == nullptr || session->fenced_by != fenced_by)
      return;
    spdlog::info("session unreachable until fenced app={} user={} instance={}", st.key.sdkappid,
                 st.key.user_id, instance_id);
    forget(self, instance_id);
    offer_retirement(self);
  });
}

void on_session_down(registry_pointer self, const caf::down_msg& down) {
  auto& st = self->state;
  if (const auto id = st.table->id_of(down.source)) {
    auto& session = *st.table->session(*id);
    if (!session.fate && st.fencing && !session.fenced_by &&
        down.reason == caf::exit_reason::remote_link_unreachable)
      return hold_as_unreachable(self, *id, session);
    // A session on a node that was lost is expected to go this way.
    spdlog::log(session.fate ? spdlog::level::warn : spdlog::level::info,
                "session ended without a logout app={} user={} instance={} reason={}",
                st.key.sdkappid, st.key.user_id, *id, to_string(down.reason));
    forget(self, *id);
  }
  offer_retirement(self);
}

registry_actor::behavior_type user_registry(registry_pointer self, user_key key,
                                            directory_actor directory,
                                            expiry_wheel_actor expiry_wheel,
                                            std::shared_ptr<const registry_fencing> fencing) {
  self->state.shard = shard_of_user(key.sdkappid, key.user_id);
  self->state.fencing = std::move(fencing);
  self->state.key = std::move(key);
  self->state.directory = std::move(directory);
  self->state.expiry_wheel = std::move(expiry_wheel);
  self->set_down_handler([self](caf::down_msg& down) { on_session_down(self, down); });
  // Whatever ends this registry (a crash, a kill), its instances end with
  // it: their connections learn it (sdkStateNotReady 70500) and the user
  // can log in again under a new registry (the directory forgets this one).
  // Sessions reached through their actor (a cluster) belong to their own
  // node, which registers them again with the user's next registry.
  self->attach_functor([table = self->state.table](const caf::error&) {
    for (const auto& [id, session] : table->sessions())
      if (session.fate)
        caf::anon_send_exit(session.actor, caf::exit_reason::kill);
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (const auto& [id, session] : self->state.table->sessions())
      if (session.fate)
        self->send_exit(session.actor, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [=](login_atom, login_order& order, reply<login_grant>& done) {
        done(admit_local(self, order));
      },
      [=](login_atom, const cluster_instance& instance, reply<cluster_grant>& done) {
        admit_cluster(self, instance, std::move(done));
      },
      [=](adopt_atom, const cluster_instance& instance) { adopt(self, instance); },
      [=](disown_atom) { disown(self); },
      [=](logout_atom, const std::string& instance_id, reply<errc>& done) {
        done(take_offline(self, instance_id));
      },
      [=](renew_atom, const std::string& instance_id, std::int64_t expires_at_ms,
          reply<errc>& done) {
        const auto* session = self->state.table->session(instance_id);
        if (session == nullptr)
          return done(errc::not_logged_in);
        self->send(session->actor, renew_atom::value, expires_at_ms);
        done(errc::ok);
      },
      [=](kick_atom, kick_type type, reply<std::size_t>& done) { done(kick_all(self, type)); },
      [=](online_atom, reply<online_list>& done) { done(self->state.table->instances()); },
      [=](deliver_atom, const timeline_entry& entry, const std::string& except) {
        deliver(self, entry, except);
      },
      [=](notify_atom, const user_notice& notice, const std::string& except) {
        notify(self, notice, except);
      },
      [=](expired_atom, const user_key&, const std::string& instance_id) {
        expire(self, instance_id);
      },
      [=](retire_atom) { self->quit(); },
      [=](due_atom, std::uint64_t id) { self->state.timers.run(id); },
  };
}

}  // namespace

registry_actor spawn_user_registry(caf::actor_system& system, user_key key,
                                   directory_actor directory, expiry_wheel_actor expiry_wheel,
                                   std::shared_ptr<const registry_fencing> fencing) {
  return system.spawn<caf::lazy_init>(user_registry, std::move(key), std::move(directory),
                                      std::move(expiry_wheel), std::move(fencing));
}

}  // namespace chatd
