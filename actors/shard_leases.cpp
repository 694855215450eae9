#include "actors/shard_leases.hpp"

namespace chatd {
namespace {

// FNV-1a, then a 64-bit finalizer (splitmix64) so that nearby inputs spread.
constexpr std::uint64_t fnv_offset = 14695981039346656037ull;
constexpr std::uint64_t fnv_prime = 1099511628211ull;

std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes)
    hash = (hash ^ c) * fnv_prime;
  return hash;
}

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr std::string_view separator("\0", 1);

std::int64_t ticks(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::uint32_t shard_of_user(std::uint32_t sdkappid, std::string_view user_id) {
  auto hash = fnv1a(fnv_offset, std::to_string(sdkappid));
  hash = fnv1a(hash, separator);
  return static_cast<std::uint32_t>(mix(fnv1a(hash, user_id)) % shard_count);
}

std::uint64_t shard_score(std::string_view node, std::uint32_t shard) {
  auto hash = fnv1a(fnv_offset, node);
  hash = fnv1a(hash, separator);
  return mix(fnv1a(hash, std::to_string(shard)));
}

std::string desired_owner(const std::vector<std::string>& live_nodes, std::uint32_t shard) {
  const std::string* best = nullptr;
  std::uint64_t best_score = 0;
  for (const auto& node : live_nodes) {
    const auto score = shard_score(node, shard);
    if (best == nullptr || score > best_score || (score == best_score && node < *best)) {
      best = &node;
      best_score = score;
    }
  }
  return best ? *best : std::string{};
}

std::vector<lease_change> plan_round(const std::string& self,
                                     const std::vector<std::string>& live_nodes,
                                     const std::vector<shard_lease>& table) {
  std::vector<lease_change> plan(table.size(), lease_change::keep);
  for (std::uint32_t shard = 0; shard < table.size(); ++shard) {
    const auto& lease = table[shard];
    const bool expired = lease.remaining.count() <= 0;
    const bool mine = lease.owner == self;
    const auto wanted = desired_owner(live_nodes, shard);
    if (mine && !expired)
      plan[shard] = wanted == self ? lease_change::renew : lease_change::release;
    else if (expired && wanted == self)
      plan[shard] = lease_change::acquire;
  }
  return plan;
}

std::vector<std::string> lease_view::live_nodes() const {
  std::vector<std::string> live;
  for (const auto& n : nodes)
    if (n.live)
      live.push_back(n.node);
  return live;
}

void lease_gate::hold(std::uint32_t shard, std::uint64_t epoch, clock::time_point valid_until) {
  epoch_[shard].store(epoch, std::memory_order_release);
  valid_until_[shard].store(ticks(valid_until), std::memory_order_release);
}

bool lease_gate::holds(std::uint32_t shard) const {
  return ticks(clock::now()) < valid_until_[shard].load(std::memory_order_acquire);
}

bool lease_gate::admits(std::uint32_t shard, std::uint64_t epoch) const {
  return epoch != 0 && held_epoch(shard) == epoch &&
         open_epoch_[shard].load(std::memory_order_acquire) == epoch && holds(shard);
}

}  // namespace chatd
