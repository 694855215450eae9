// Who is in the cluster as one node sees it, and which node owns which
// user: rendezvous hashing over the live members (each key goes to the
// member with the highest hash of (member, key)), so that a member that
// leaves or comes back moves only its own share of the users. Pure data;
// no CAF here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatd {

class membership {
 public:
  // `self` is this node's name; `configured` is the size of the static
  // member list (this node and its peers).
  membership() = default;
  membership(std::string self, std::size_t configured);

  const std::string& self() const { return self_; }
  // Live members, this node included unless it has left, sorted by name.
  const std::vector<std::string>& members() const { return members_; }
  bool contains(std::string_view node) const;
  // Adds or removes a live member; false if that changed nothing.
  bool add(const std::string& node);
  bool remove(std::string_view node);

  // A majority of the static list is live: only then may new logins be
  // admitted (a minority could break the rule beside a majority).
  bool has_majority() const { return members_.size() * 2 > configured_; }

  // The live member that owns (sdkappid, user_id); empty if none is live.
  const std::string& owner_of(std::uint32_t sdkappid, std::string_view user_id) const;

 private:
  std::string self_;
  std::size_t configured_ = 1;
  std::vector<std::string> members_;
};

// The rendezvous score of `node` for a key: stable across processes and builds.
std::uint64_t rendezvous_score(std::string_view node, std::uint32_t sdkappid,
                               std::string_view user_id);

}  // namespace chatd
