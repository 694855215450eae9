#include "server/lockout.hpp"

namespace chatd {

bool lockout::is_locked(const std::string& user_key, clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(user_key);
  return it != entries_.end() && now < it->second.locked_until;
}

void lockout::record_failure(const std::string& user_key, clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(user_key);
  if (it == entries_.end()) {
    make_room(now);
    it = entries_.emplace(user_key, entry{now, 0, {}}).first;
  }
  auto& e = it->second;
  if (now - e.window_start > rules_.window) {
    e.window_start = now;
    e.failures = 0;
  }
  if (++e.failures >= rules_.max_failures) {
    e.locked_until = now + rules_.lock;
    e.window_start = now;
    e.failures = 0;
  }
}

std::size_t lockout::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

// Forgets users whose window and lock are over; if that is not enough, the
// table is full of fresh entries (an attack): forget unlocked ones first,
// then any, so memory stays bounded.
void lockout::make_room(clock::time_point now) {
  if (entries_.size() < rules_.max_tracked)
    return;
  const auto target = rules_.max_tracked * 9 / 10;
  std::erase_if(entries_, [&](const auto& kv) {
    return now >= kv.second.locked_until && now - kv.second.window_start > rules_.window;
  });
  for (auto it = entries_.begin(); entries_.size() > target && it != entries_.end();)
    it = now >= it->second.locked_until ? entries_.erase(it) : std::next(it);
  for (auto it = entries_.begin(); entries_.size() > target && it != entries_.end();)
    it = entries_.erase(it);
}

}  // namespace chatd
