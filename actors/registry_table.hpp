// Internal to actors/: one user's live instances as its registry holds
// them, in one table: each instance as the rules of CONTRACT §3 see it
// (instance_table: platform, ready order) together with its session. Every
// change goes through here, so the two never drift apart.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/instance_table.hpp"
#include "actors/session_protocol.hpp"

namespace chatd {

// A live instance's session: its actor, and its connection's fate when the
// connection is on this node and registered here directly (one node). In a
// cluster `fate` is empty: kicks and entries go through the session actor,
// wherever it lives.
struct live_session {
  session_actor actor;
  std::shared_ptr<instance_fate> fate;
  // Set when the link to the session's node was lost: that node fences the
  // instance by then, and until then it counts as online.
  std::optional<std::chrono::steady_clock::time_point> fenced_by;
};

// An instance taken out of the table, with its session.
struct removed_instance {
  online_instance instance;
  live_session session;
};

// One the rules evicted: what it was, its session, why, and (adopt) by whom.
struct evicted_instance {
  removed_instance removed;
  kick_type type = kick_type::multiple_account;
  online_instance by;
};

class registry_table {
 public:
  // Admits a new instance under `limits`; returns those it evicts (out of
  // the table already).
  std::vector<evicted_instance> admit(const online_instance& incoming, const login_limits& limits,
                                      live_session session);
  // An instance admitted under another registry of the user (not here
  // yet): placed in ready order and the rules replayed (instance_table::adopt).
  std::vector<evicted_instance> adopt(const online_instance& adopted, const login_limits& limits,
                                      live_session session);
  std::optional<removed_instance> remove(std::string_view instance_id);
  // The ready order of the next login. Orders grow with the wall clock
  // (microseconds), so that instances admitted by different registries of
  // one user (before and after its registry moved between nodes) still
  // compare in the order they came.
  std::uint64_t next_ready_order();
  // Takes every instance out, oldest first.
  std::vector<removed_instance> remove_all();

  const online_instance* find(std::string_view instance_id) const {
    return rules_.find(instance_id);
  }
  live_session* session(std::string_view instance_id);
  // The instance whose session actor is `actor`.
  std::optional<std::string> id_of(const caf::actor_addr& actor) const;
  bool empty() const { return rules_.empty(); }
  // In ready order, oldest first.
  const std::vector<online_instance>& instances() const { return rules_.instances(); }
  const std::unordered_map<std::string, live_session>& sessions() const { return sessions_; }

 private:
  std::optional<live_session> take_session(std::string_view instance_id);

  instance_table rules_;
  std::uint64_t last_ready_order_ = 0;
  std::unordered_map<std::string, live_session> sessions_;  // by instance id
};

}  // namespace chatd
