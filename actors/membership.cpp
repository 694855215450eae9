#include "actors/membership.hpp"

#include <algorithm>

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

}  // namespace

std::uint64_t rendezvous_score(std::string_view node, std::uint32_t sdkappid,
                               std::string_view user_id) {
  auto hash = fnv1a(fnv_offset, node);
  hash = fnv1a(hash, std::string_view("\0", 1));
  hash = fnv1a(hash, std::to_string(sdkappid));
  hash = fnv1a(hash, std::string_view("\0", 1));
  return mix(fnv1a(hash, user_id));
}

membership::membership(std::string self, std::size_t configured)
    : self_(std::move(self)), configured_(configured), members_{self_} {}

bool membership::contains(std::string_view node) const {
  return std::binary_search(members_.begin(), members_.end(), node);
}

bool membership::add(const std::string& node) {
  auto it = std::lower_bound(members_.begin(), members_.end(), node);
  if (it != members_.end() && *it == node)
    return false;
  members_.insert(it, node);
  return true;
}

bool membership::remove(std::string_view node) {
  auto it = std::lower_bound(members_.begin(), members_.end(), node);
  if (it == members_.end() || *it != node)
    return false;
  members_.erase(it);
  return true;
}

const std::string& membership::owner_of(std::uint32_t sdkappid, std::string_view user_id) const {
  static const std::string none;
  const std::string* best = &none;
  std::uint64_t best_score = 0;
  for (const auto& node : members_) {
    const auto score = rendezvous_score(node, sdkappid, user_id);
    if (best->empty() || score > best_score) {
      best = &node;
      best_score = score;
    }
  }
  return *best;
}

}  // namespace chatd
