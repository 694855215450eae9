// Sig expiry timers for every session, in one actor. A session actor that
// scheduled its own delayed message would stay referenced by CAF's clock
// until the message fires (a day, or 180 days, after the session is gone):
// memory growing with every login. Here one ordered map holds the deadlines,
// a session's entry goes when the session does, and a single delayed tick is
// armed for the earliest deadline.
#include <caf/all.hpp>

#include <map>
#include <unordered_map>

#include "actors/session_protocol.hpp"

namespace chatd {
namespace {

// Long waits are re-armed, so a tick is never more than this far away.
constexpr std::chrono::milliseconds longest_wait{std::chrono::hours(1)};

struct wheel_state {
  using deadline_map = std::multimap<std::int64_t, session_actor>;
  deadline_map deadlines;
  std::unordered_map<caf::actor_addr, deadline_map::iterator> by_session;
  std::uint64_t generation = 0;
  std::int64_t armed_for = INT64_MAX;
};

using wheel_actor = std::remove_pointer_t<expiry_wheel_actor::stateful_pointer<wheel_state>>;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void arm(wheel_actor* self, std::int64_t at_ms) {
  auto& st = self->state;
  st.armed_for = at_ms;
  auto wait = std::chrono::milliseconds(std::max<std::int64_t>(0, at_ms - now_ms()));
  self->delayed_send(self, std::min(wait, longest_wait), expire_atom::value, ++st.generation);
}

void forget(wheel_state& st, const caf::actor_addr& session) {
  auto it = st.by_session.find(session);
  if (it == st.by_session.end())
    return;
  st.deadlines.erase(it->second);
  st.by_session.erase(it);
}

expiry_wheel_actor::behavior_type expiry_wheel(wheel_actor* self) {
  return {
      [=](watch_atom, const session_actor& session, std::int64_t at_ms) {
        auto& st = self->state;
        forget(st, session.address());
        st.by_session[session.address()] = st.deadlines.emplace(at_ms, session);
        if (at_ms < st.armed_for)
          arm(self, at_ms);
      },
      [=](unwatch_atom, const caf::actor_addr& session) { forget(self->state, session); },
      [=](expire_atom, std::uint64_t generation) {
        auto& st = self->state;
        if (generation != st.generation)
          return;  // superseded by an earlier deadline
        const auto now = now_ms();
        while (!st.deadlines.empty() && st.deadlines.begin()->first <= now) {
          auto due = st.deadlines.begin();
          self->send(due->second, expire_atom::value);
          st.by_session.erase(due->second.address());
          st.deadlines.erase(due);
        }
        st.armed_for = INT64_MAX;
        if (!st.deadlines.empty())
          arm(self, st.deadlines.begin()->first);
      },
  };
}

}  // namespace

expiry_wheel_actor spawn_expiry_wheel(caf::actor_system& system) {
  return system.spawn(expiry_wheel);
}

}  // namespace chatd
