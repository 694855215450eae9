// The brute-force lock of CONTRACT §1 (70050): a user whose UserSig fails
// verification max_failures times within a window is locked for a while,
// even with a good sig. Memory is bounded: at most max_tracked users are
// tracked, so random userIDs from an attacker cannot grow it.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace chatd {

class lockout {
 public:
  using clock = std::chrono::steady_clock;

  struct rules {
    int max_failures = 10;
    std::chrono::seconds window{60};
    std::chrono::seconds lock{60};
    std::size_t max_tracked = 100000;
  };

  explicit lockout(rules r) : rules_(r) {}

  bool is_locked(const std::string& user_key, clock::time_point now);
  void record_failure(const std::string& user_key, clock::time_point now);
  std::size_t tracked() const;

 private:
  struct entry {
    clock::time_point window_start;
    int failures = 0;
    clock::time_point locked_until;
  };
  void make_room(clock::time_point now);

  rules rules_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
};

}  // namespace chatd
