// The per-login delivery cursor: live entries, syncs racing them, early entries.
#include <doctest/doctest.h>

#include "gateway/timeline_cursor.hpp"

using chatd::timeline_cursor;

TEST_CASE("live entries go out once, in order, and older or repeated ones are dropped") {
  timeline_cursor c;
  CHECK(c.admit_live(5));
  c.delivered(5);
  CHECK_FALSE(c.admit_live(5));
  CHECK_FALSE(c.admit_live(3));
  CHECK(c.admit_live(6));
}

TEST_CASE("a sync holds live entries back and reads on until it has passed them") {
  timeline_cursor c;
  c.begin_sync();
  CHECK(c.claim_sync());
  CHECK_FALSE(c.claim_sync());                  // one reader per sync
  CHECK_FALSE(c.admit_live(12));                // noted, read by the sync
  CHECK_FALSE(c.finish_sync_if_caught_up(10));  // the page ended before 12: read on
  CHECK(c.syncing());
  CHECK(c.finish_sync_if_caught_up(12));
  CHECK_FALSE(c.syncing());
  CHECK_FALSE(c.admit_live(12));  // the sync delivered it
  CHECK(c.admit_live(13));
}

TEST_CASE("entries that arrive before the login is answered start a sync just before them") {
  timeline_cursor c;
  CHECK_FALSE(c.sync_start(std::nullopt).has_value());
  c.note_early(8);
  c.note_early(7);
  CHECK(c.sync_start(std::nullopt) == 6u);
  CHECK(c.sync_start(3) == 3u);   // the client asked for more
  CHECK(c.sync_start(20) == 6u);  // the early entries are not skipped
  c.begin_sync();
  CHECK_FALSE(c.finish_sync_if_caught_up(7));  // 8 was seen: read on
  CHECK(c.finish_sync_if_caught_up(8));
  c.reset();
  CHECK_FALSE(c.sync_start(std::nullopt).has_value());
}

TEST_CASE("an abandoned sync lets live entries flow again") {
  timeline_cursor c;
  c.begin_sync();
  c.abandon_sync();
  CHECK(c.admit_live(1));
}
