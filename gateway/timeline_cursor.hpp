// How far one logged-in instance has received its user's timeline, and
// whether a live entry goes out now (CONTRACT §2c: each instance gets its
// timeline in seq order, each entry at most once per login, with no gap
// between a sync and the live entries that race it). Plain logic, owned by
// the connection and used on its strand.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

namespace chatd {

class timeline_cursor {
 public:
  // A new login: nothing received yet.
  void reset() { *this = timeline_cursor{}; }

  // A live entry arrived while the login was not answered yet: the sync
  // that follows the answer must cover it.
  void note_early(std::uint64_t seq) {
    early_min_ = early_min_ == 0 ? seq : std::min(early_min_, seq);
    seen_while_syncing_ = std::max(seen_while_syncing_, seq);
  }

  // Where a sync must start: after the requested seq, or before the first
  // early entry, whichever is lower; nullopt if no sync is needed.
  std::optional<std::uint64_t> sync_start(std::optional<std::uint64_t> requested) const {
    if (early_min_ == 0)
      return requested;
    const auto before_early = early_min_ - 1;
    return requested ? std::min(*requested, before_early) : before_early;
  }

  // From now on live entries wait for the sync (which reads them from the store).
  void begin_sync() {
    syncing_ = true;
    sync_claimed_ = false;
  }
  bool syncing() const { return syncing_; }
  // The one reader of a sync: true for the first caller while syncing.
  bool claim_sync() { return syncing_ && !std::exchange(sync_claimed_, true); }

  // A live entry: true if it goes out now. During a sync it is only noted:
  // the sync reads until it has passed every entry noted.
  bool admit_live(std::uint64_t seq) {
    if (syncing_) {
      seen_while_syncing_ = std::max(seen_while_syncing_, seq);
      early_min_ = early_min_ == 0 ? seq : std::min(early_min_, seq);
      return false;
    }
    return seq > delivered_;
  }

  // A sync that starts where the store says (after what any instance of the
  // user received) must still not start after this: the live entries this
  // login saw arrive were never shown to it. UINT64_MAX if none.
  std::uint64_t cover_after() const { return early_min_ == 0 ? UINT64_MAX : early_min_ - 1; }

  void delivered(std::uint64_t seq) { delivered_ = std::max(delivered_, seq); }
  std::uint64_t last_delivered() const { return delivered_; }

  // The sync has read everything up to `read_up_to` (the timeline's head
  // when it read its last page). Ends the sync unless a live entry beyond
  // it was noted meanwhile; then the sync reads on.
  bool finish_sync_if_caught_up(std::uint64_t read_up_to) {
    if (seen_while_syncing_ > read_up_to)
      return false;
    syncing_ = false;
    delivered_ = std::max(delivered_, read_up_to);
    return true;
  }

  // The sync could not read the store: live entries flow again (what it
  // missed is still in the store for a later sync).
  void abandon_sync() { syncing_ = false; }

 private:
  std::uint64_t delivered_ = 0;
  std::uint64_t early_min_ = 0;  // the first live entry noted before a sync read it
  std::uint64_t seen_while_syncing_ = 0;
  bool syncing_ = false;
  bool sync_claimed_ = false;
};

}  // namespace chatd
