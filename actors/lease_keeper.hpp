// The thread that holds this node's leases (docs/CLUSTER.md, "Ownership"):
// one round in the lease store every `renew_interval` (sooner when another
// node changed the table), the gate updated from each committed round, and
// each round's table handed to the cluster node. No CAF here.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/shard_leases.hpp"

namespace chatd {

class lease_keeper {
 public:
  // `on_round` gets every committed round's table (or, after a failed
  // round, nothing: `nullptr`), on the keeper's thread.
  lease_keeper(std::string self, std::shared_ptr<lease_store> store,
               std::shared_ptr<lease_gate> gate, lease_timing timing,
               std::function<void(std::shared_ptr<const lease_view>)> on_round);
  ~lease_keeper();
  lease_keeper(const lease_keeper&) = delete;
  lease_keeper& operator=(const lease_keeper&) = delete;

  // The epochs this node is synced at, sent with the next round.
  void set_synced(std::vector<std::uint64_t> synced);
  // This node drains: its leases are released at the next round and it
  // takes no more.
  void leave() { leaving_ = true; }
  // Until when this node's own lease on being alive surely holds (its clock).
  std::chrono::steady_clock::time_point alive_until() const;

 private:
  void run();
  void one_round();

  std::string self_;
  std::shared_ptr<lease_store> store_;
  std::shared_ptr<lease_gate> gate_;
  lease_timing timing_;
  std::function<void(std::shared_ptr<const lease_view>)> on_round_;
  std::mutex synced_mutex_;
  std::vector<std::uint64_t> synced_;
  std::atomic<std::int64_t> alive_until_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> leaving_{false};
  int failures_ = 0;
  std::thread thread_;
};

}  // namespace chatd
