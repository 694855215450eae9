#include "gateway/login_failures.hpp"

#include <spdlog/spdlog.h>

namespace chatd {

void login_failure_log::record(std::uint32_t sdkappid, const std::string& user_id, errc code) {
  std::lock_guard lock(mutex_);
  const auto now = clock::now();
  if (now - window_start_ >= window_) {
    flush_locked();
    window_start_ = now;
  }
  const auto key = std::make_pair(sdkappid, code_number(code));
  auto [it, first] = kinds_.try_emplace(key);
  if (first) {
    spdlog::info(
        "login refused app={} user={} code={} ({}); more of this kind are summed every {} s",
        sdkappid, user_id, code_number(code), message_of(code),
        std::chrono::duration_cast<std::chrono::seconds>(window_).count());
    return;
  }
  ++it->second.more;
  it->second.last_user = user_id;
}

void login_failure_log::flush_locked() {
  for (const auto& [key, tally] : kinds_)
    if (tally.more > 0)
      spdlog::info(
          "login refused app={} code={} ({}): {} more in the last {} s, the last for user={}",
          key.first, key.second, message_of(static_cast<errc>(key.second)), tally.more,
          std::chrono::duration_cast<std::chrono::seconds>(window_).count(), tally.last_user);
  kinds_.clear();
}

}  // namespace chatd
