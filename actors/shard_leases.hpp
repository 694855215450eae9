// Who owns which user in a cluster (docs/CLUSTER.md): users hash to a fixed
// number of shards, and a node owns a shard only while it holds an
// unexpired lease on it in a linearizable store (PostgreSQL). Pure data and
// the planning of one lease round; no CAF, no database here.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatd {

inline constexpr std::uint32_t shard_count = 1024;

// The shard of a user: stable across processes and builds.
std::uint32_t shard_of_user(std::uint32_t sdkappid, std::string_view user_id);

// The rendezvous score of `node` for a shard: the live node with the
// highest score should own it, so that a node that comes or goes moves only
// its own share of the shards.
std::uint64_t shard_score(std::string_view node, std::uint32_t shard);
// The live node that should own `shard`; empty if none is live.
std::string desired_owner(const std::vector<std::string>& live_nodes, std::uint32_t shard);

// How leases are held (docs/CLUSTER.md, "Leases").
struct lease_timing {
  std::chrono::milliseconds lease{2000};          // a lease's length on the store's clock
  std::chrono::milliseconds renew_interval{400};  // between rounds
  std::chrono::milliseconds margin{500};          // clock drift and pause a lease must survive
};

// One shard's lease as a round read it. `remaining` is the lease's time left
// on the store's clock at the time of the round (negative: expired).
struct shard_lease {
  std::string owner;  // "" = never taken
  std::uint64_t epoch = 0;
  std::chrono::milliseconds remaining{0};
};

// A node as the store knows it: its own lease on being alive, and the epoch
// of each shard for which it has no instance the shard's owner does not know.
struct node_lease {
  std::string node;
  bool live = false;
  std::vector<std::uint64_t> synced;  // by shard; empty = none
};

// What one round changes, decided on the table it read under lock.
enum class lease_change : std::uint8_t { keep, renew, acquire, release };

// What a round decides for each shard, given the table read in the round's
// transaction. Renews what this node holds and should keep; releases what
// a live node should own instead (that node acquires it at the next round,
// once it is free); acquires what is free (never taken or expired) and
// should be this node's. A lease this node let lapse is acquired again with
// a new epoch: the instances registered under the old one may have moved.
std::vector<lease_change> plan_round(const std::string& self,
                                     const std::vector<std::string>& live_nodes,
                                     const std::vector<shard_lease>& table);

// The table after a committed round, as the lease keeper hands it on.
struct lease_view {
  std::chrono::steady_clock::time_point read_at;  // before the round began
  std::vector<shard_lease> shards;                // by shard
  std::vector<node_lease> nodes;
  std::vector<std::string> live_nodes() const;
};

// A linearizable store of leases: one round is one transaction.
class lease_store {
 public:
  virtual ~lease_store() = default;
  // Renews `self`'s node lease for `lease` (0: the node leaves, releasing
  // everything and taking nothing) with `synced` as its epochs,
  // applies plan_round to the shard table read under lock (calling
  // `before_release` for each shard it releases, before the write), commits,
  // and returns the table as committed. Throws on any failure (nothing is
  // then known to have changed).
  virtual lease_view round(const std::string& self, std::chrono::milliseconds lease,
                           const std::vector<std::uint64_t>& synced,
                           void (*before_release)(void*, std::uint32_t), void* context) = 0;
  // Waits up to `timeout` for another node's change of the lease table.
  virtual void wait_for_change(std::chrono::milliseconds timeout) = 0;
};

// The per-shard facts a grant checks, shared by the lease keeper (which
// holds the leases), the cluster node (which opens a shard once every
// instance of it is known) and the registries (which check it right before
// every admission). Lock-free: read on every login.
class lease_gate {
 public:
  using clock = std::chrono::steady_clock;
  // This node holds `shard` at `epoch` until `valid_until` (its own clock,
  // the margin already taken off).
  void hold(std::uint32_t shard, std::uint64_t epoch, clock::time_point valid_until);
  // The lease is gone or going: no grant from now on.
  void close(std::uint32_t shard) { valid_until_[shard].store(0, std::memory_order_release); }
  // Every instance of `shard` under `epoch` is known here: grants may begin.
  void open(std::uint32_t shard, std::uint64_t epoch) {
    open_epoch_[shard].store(epoch, std::memory_order_release);
  }
  // A grant for `shard` at `epoch` may be given now.
  bool admits(std::uint32_t shard, std::uint64_t epoch) const;
  // The epoch this node holds `shard` at (0: none), whether or not it is open.
  std::uint64_t held_epoch(std::uint32_t shard) const {
    return epoch_[shard].load(std::memory_order_acquire);
  }
  bool holds(std::uint32_t shard) const;

 private:
  std::array<std::atomic<std::int64_t>, shard_count> valid_until_{};  // steady ns
  std::array<std::atomic<std::uint64_t>, shard_count> epoch_{};
  std::array<std::atomic<std::uint64_t>, shard_count> open_epoch_{};
};

}  // namespace chatd
