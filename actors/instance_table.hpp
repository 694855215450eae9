// The multi-instance rules of CONTRACT §3 as a pure data structure: the online
// instances of one user, and which of them a new login evicts. The registry
// actor owns one; tests drive it directly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "actors/instance.hpp"
#include "protocol/platform.hpp"

namespace chatd {

struct online_instance {
  std::string instance_id;
  chatd::platform platform = chatd::platform::web;
  std::uint64_t ready_order = 0;  // smaller = became ready earlier
};

struct eviction {
  online_instance instance;
  kick_type type = kick_type::multiple_account;
};

// An eviction found when an adopted instance joins: and who caused it.
struct replayed_eviction {
  eviction evicted;
  online_instance by;
};

class instance_table {
 public:
  // Admits `incoming` under `limits`: removes and returns the instances it
  // evicts (conflicting platforms first, then the oldest of its own platform).
  std::vector<eviction> admit(online_instance incoming, const login_limits& limits);

  // Adds an instance that was admitted elsewhere (its registry moved here)
  // at its place in ready order, then applies `limits` again as if every
  // instance had logged in in ready order: removes and returns those that
  // would have been evicted. An instance already here is left as it is.
  std::vector<replayed_eviction> adopt(online_instance adopted, const login_limits& limits);

  // Removes one instance; false if it is not online.
  bool remove(std::string_view instance_id);

  bool contains(std::string_view instance_id) const;
  // The online instance with this id, or nullptr.
  const online_instance* find(std::string_view instance_id) const;
  std::size_t size() const { return instances_.size(); }
  bool empty() const { return instances_.empty(); }
  int count_on(platform p) const;
  // In ready order, oldest first.
  const std::vector<online_instance>& instances() const { return instances_; }

 private:
  std::vector<online_instance> instances_;
};

}  // namespace chatd
