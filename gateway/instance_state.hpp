// The instance a client's link carries, in one place: the login phase, the
// attempt (which login of the link a notice from the actors belongs to), a
// kick or loss that raced ahead of the grant, the granted login and how far
// it has received its timeline. Plain logic, used on the link's strand.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "actors/session_service.hpp"
#include "gateway/timeline_cursor.hpp"

namespace chatd {

// A granted login.
struct active_login {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  std::string instance_id;
  chatd::platform platform = chatd::platform::web;
  std::int64_t sig_expires_at_ms = 0;
  session_handle session;
  // A login with syncFromSeq: its timeline's last seq when it was admitted,
  // told in the answer, so that a client resuming past it (a reset store,
  // another server) can tell (docs/CONTRACT-NOTES.md, "Messages").
  std::optional<std::uint64_t> timeline_head;
};

enum class login_phase : std::uint8_t { offline, in_flight, ready };

// What ended the instance while its grant was on the way: nothing, a kick,
// or the loss of its session.
struct session_lost {};
using early_end = std::variant<std::monostate, kick_notice, session_lost>;

class instance_state {
 public:
  login_phase phase() const { return phase_; }
  // The granted login, while ready.
  const std::optional<active_login>& login() const { return login_; }
  std::uint64_t attempt() const { return attempt_; }
  timeline_cursor& timeline() { return timeline_; }

  // A new login attempt: returns its number.
  std::uint64_t begin() {
    phase_ = login_phase::in_flight;
    timeline_.reset();
    early_ = std::monostate{};
    return ++attempt_;
  }
  void fail() { phase_ = login_phase::offline; }
  // The grant: the instance is ready. Returns what raced ahead of it (to
  // be delivered after the answer).
  early_end grant(active_login login) {
    phase_ = login_phase::ready;
    login_ = std::move(login);
    return std::exchange(early_, std::monostate{});
  }
  // Offline: logged out, kicked, lost, or the link ended.
  void go_offline() {
    phase_ = login_phase::offline;
    login_.reset();
  }
  void set_sig_expiry(std::int64_t ms) {
    if (login_)
      login_->sig_expires_at_ms = ms;
  }

  // A kick or loss for `attempt`: true if it ends the instance now; while
  // the grant is on the way it is held for grant() instead.
  bool ends_now(std::uint64_t attempt, early_end end) {
    if (attempt != attempt_)
      return false;  // for an earlier login of this link, already settled
    if (phase_ == login_phase::in_flight) {
      early_ = std::move(end);
      return false;
    }
    return phase_ == login_phase::ready;
  }

  // A live timeline entry for `attempt`: true if it goes out now.
  // The login `attempt` is ready (an online-only message goes out now).
  bool ready_for(std::uint64_t attempt) const {
    return attempt == attempt_ && phase_ == login_phase::ready;
  }

  bool admits_live(std::uint64_t attempt, std::uint64_t seq) {
    if (attempt != attempt_)
      return false;
    if (phase_ == login_phase::in_flight) {
      timeline_.note_early(seq);
      return false;
    }
    return phase_ == login_phase::ready && timeline_.admit_live(seq);
  }

 private:
  login_phase phase_ = login_phase::offline;
  std::uint64_t attempt_ = 0;
  early_end early_;
  std::optional<active_login> login_;
  timeline_cursor timeline_;
};

}  // namespace chatd
