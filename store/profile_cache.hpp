// Internal to store/: the profiles read lately, so that a list of 500
// conversations does not read 500 profiles from the tables every time.
// Kept true by whoever changes a profile: this process's writes and other
// processes' change notices drop the user's entry; what a read from the
// tables got is not kept for a user dropped while it ran (a count of drops,
// the last ones remembered); and no entry is older than max_age, which
// bounds what a notice lost unnoticed could leave stale.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/profile.hpp"

namespace chatd {

class profile_cache {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr auto max_age = std::chrono::seconds(30);
  static constexpr std::size_t max_entries = 100'000;
  static constexpr std::size_t max_recent_drops = 1024;

  // Every one of `user_ids`, or nullopt if any is not cached.
  std::optional<std::vector<user_profile>> find(std::uint32_t sdkappid,
                                                const std::vector<std::string>& user_ids) const {
    std::vector<user_profile> out;
    out.reserve(user_ids.size());
    const auto oldest = clock::now() - max_age;
    std::lock_guard lock(mutex_);
    for (const auto& user : user_ids) {
      const auto it = entries_.find(key(sdkappid, user));
      if (it == entries_.end() || it->second.read_at < oldest)
        return std::nullopt;
      out.push_back(it->second.profile);
    }
    return out;
  }

  // Taken before reading the tables, handed to keep() after.
  std::uint64_t generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
  }

  // Keeps what the tables answered, but not the profiles dropped since
  // `generation_before` (the answer may be older than their change).
  void keep(std::uint32_t sdkappid, const std::vector<std::string>& user_ids,
            const std::vector<user_profile>& profiles, std::uint64_t generation_before) {
    const auto now = clock::now();
    std::lock_guard lock(mutex_);
    if (generation_ - generation_before > recent_drops_.size())
      return;  // more drops since than remembered: any of them may be ours
    for (std::size_t i = 0; i < user_ids.size() && i < profiles.size(); ++i) {
      auto k = key(sdkappid, user_ids[i]);
      if (dropped_since(k, generation_before))
        continue;
      if (entries_.size() >= max_entries && entries_.count(k) == 0)
        entries_.erase(entries_.begin());  // any one: a miss costs one read
      entries_[std::move(k)] = {profiles[i], now};
    }
  }

  void drop(std::uint32_t sdkappid, const std::string& user_id) {
    auto k = key(sdkappid, user_id);
    std::lock_guard lock(mutex_);
    ++generation_;
    entries_.erase(k);
    if (recent_drops_.size() == max_recent_drops)
      recent_drops_.pop_front();
    recent_drops_.push_back(std::move(k));
  }

  void clear() {
    std::lock_guard lock(mutex_);
    generation_ += max_recent_drops + 1;  // older reads are not kept
    recent_drops_.clear();
    entries_.clear();
  }

 private:
  struct entry {
    user_profile profile;
    clock::time_point read_at;
  };

  // recent_drops_ holds the keys of the last drops, newest last: the one
  // at index i was generation_ - size + 1 + i.
  bool dropped_since(const std::string& k, std::uint64_t generation) const {
    const auto since = static_cast<std::size_t>(generation_ - generation);
    return std::find(recent_drops_.end() - static_cast<std::ptrdiff_t>(since), recent_drops_.end(),
                     k) != recent_drops_.end();
  }

  static std::string key(std::uint32_t sdkappid, const std::string& user_id) {
    return std::to_string(sdkappid) + '\n' + user_id;
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::deque<std::string> recent_drops_;
  std::uint64_t generation_ = 0;
};

}  // namespace chatd
