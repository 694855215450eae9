// Refused logins in the log without flooding it: the first refusal of each
// (app, code) in a window is logged at once, naming the user; the others of
// that window are summed and logged, with their count and last user, when
// the next window begins. An operator chasing a bad key or an expired sig
// sees it at once; an attacker's million bad sigs cost a few lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "protocol/error_codes.hpp"

namespace chatd {

class login_failure_log {
 public:
  using clock = std::chrono::steady_clock;
  explicit login_failure_log(clock::duration window = std::chrono::seconds(10)) : window_(window) {}

  // Thread-safe; called once per refused login.
  void record(std::uint32_t sdkappid, const std::string& user_id, errc code);

 private:
  struct tally {
    std::uint64_t more = 0;  // refusals after the first, in this window
    std::string last_user;
  };
  void flush_locked();

  std::mutex mutex_;
  clock::duration window_;
  clock::time_point window_start_{};
  std::map<std::pair<std::uint32_t, int>, tally> kinds_;
};

}  // namespace chatd
