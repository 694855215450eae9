// The durable per-user timelines of CONTRACT §2c behind one interface, so
// that a cluster backend can replace the embedded SQLite one. Everything
// runs on the store's own thread: appends are group-committed (one
// transaction for every send waiting), and every callback is called there,
// appends in commit order.
#pragma once

#include <climits>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/message.hpp"

namespace chatd {

// A committed message: its entry in the recipient's timeline and, unless it
// was not copied (REST SyncOtherMachine 2) or sent to oneself, in the sender's.
struct appended_message {
  timeline_entry recipient;
  std::optional<timeline_entry> sender;
  // The sender had sent this clientMsgID already: these are the entries of
  // that first send, and nothing was appended (a retry is idempotent).
  bool duplicate = false;
};

struct append_request {
  chat_message message;  // time_ms, message_id (and a missing client_seq) set by the store
  bool copy_to_sender = true;
  std::uint32_t max_timeline_messages = 10000;  // older entries of both timelines are dropped
  std::int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  // nullopt: not written (the disk failed); nothing was acknowledged.
  std::function<void(std::optional<appended_message>)> done;
};

struct timeline_page {
  std::vector<timeline_entry> entries;  // seq order
  std::uint64_t head = 0;               // the timeline's last seq when it was read
};

// One user's entries with one peer, by time (both bounds inclusive, ms).
struct conversation_query {
  std::uint32_t sdkappid = 0;
  std::string owner;
  std::string peer;
  std::int64_t min_time_ms = 0;
  std::int64_t max_time_ms = INT64_MAX;
  std::uint64_t below_seq = UINT64_MAX;  // a paging cursor: the owner's seq
  std::size_t max_count = 100;
  bool newest_first = true;
};

// One of a user's conversations (a peer with a retained entry), kept from
// the timelines: a row per (user, peer) with its newest seq, the count of
// the peer's messages after the user's read mark, and the read mark.
struct conversation_summary {
  std::string peer;
  timeline_entry last;                 // the newest retained entry with the peer
  std::uint64_t unread = 0;            // the peer's messages after read_time_ms
  std::int64_t read_time_ms = 0;       // the user's read mark (0: never read)
  std::int64_t peer_read_time_ms = 0;  // the peer's read mark of the same conversation
};

// A conversation with messages its owner has not read.
struct unread_count {
  std::string peer;
  std::uint64_t unread = 0;
};

// A read mark as stored: its time and the count still unread after it.
struct read_mark {
  std::int64_t read_time_ms = 0;
  std::uint64_t unread = 0;
};

// A withdrawn message: its entries as they are now (content gone,
// `revoked` set), or why not: revoke_window_passed, or invalid_parameter
// (no such retained message of that sender and recipient).
struct revoke_result {
  errc code = errc::ok;
  appended_message entries;
};

class message_store {
 public:
  virtual ~message_store() = default;

  virtual void append(append_request request) = 0;
  // Retained entries with seq > after_seq, at most max_count. nullopt: after
  // the last seq delivered to any instance of the user (note_delivered), or
  // after `after_at_most` if that is lower.
  virtual void read_timeline(std::uint32_t sdkappid, std::string user_id,
                             std::optional<std::uint64_t> after_seq, std::uint64_t after_at_most,
                             std::size_t max_count, std::function<void(timeline_page)> done) = 0;
  virtual void read_conversation(conversation_query query,
                                 std::function<void(std::vector<timeline_entry>)> done) = 0;
  // Withdraws the message `message_id` that `sender` sent to `recipient`:
  // in both timelines its text and custom element are removed and it is
  // marked revoked (durable before `done`), and the recipient's unread count
  // no longer counts it. A message sent before `sent_after_ms` is refused
  // (revoke_window_passed). nullopt: not written.
  virtual void revoke(std::uint32_t sdkappid, std::string sender, std::string recipient,
                      std::string message_id, std::int64_t sent_after_ms,
                      std::function<void(std::optional<revoke_result>)> done) = 0;
  // The user's conversations, newest first, at most max_count.
  virtual void read_conversations(std::uint32_t sdkappid, std::string owner, std::size_t max_count,
                                  std::function<void(std::vector<conversation_summary>)> done) = 0;
  // The unread counts of the same conversations (those with none left
  // out), newest first: what a login needs without the messages.
  virtual void read_unread_counts(std::uint32_t sdkappid, std::string owner, std::size_t max_count,
                                  std::function<void(std::vector<unread_count>)> done) = 0;
  // The owner has read the conversation with `peer` up to `up_to_ms`
  // (capped at now; a mark never moves back). Durable before `done`, which
  // gets the mark and what is still unread after it; nullopt: not written.
  virtual void mark_read(std::uint32_t sdkappid, std::string owner, std::string peer,
                         std::int64_t up_to_ms,
                         std::function<void(std::optional<read_mark>)> done) = 0;
  // Each peer's read mark of its conversation with `owner` (0: none), in order.
  virtual void peer_read_times(std::uint32_t sdkappid, std::string owner,
                               std::vector<std::string> peers,
                               std::function<void(std::vector<std::int64_t>)> done) = 0;
  // An entry up to `seq` reached an instance of the user. Any thread;
  // written with the next batch (not durable on return).
  virtual void note_delivered(std::uint32_t sdkappid, const std::string& user_id,
                              std::uint64_t seq) = 0;

  // Entries retained over all timelines; writes that failed since opening.
  virtual std::uint64_t stored_entries() const = 0;
  virtual std::uint64_t write_failures() const = 0;
};

// Opens (creating if needed) `state_dir/timelines.sqlite3` in WAL mode with
// synchronous=FULL and starts its thread. Throws std::runtime_error.
std::unique_ptr<message_store> open_sqlite_message_store(const std::filesystem::path& state_dir);
// The timelines in PostgreSQL (a libpq URL); several chatd nodes may share
// them. Throws std::runtime_error.
std::unique_ptr<message_store> open_postgres_message_store(const std::string& url);

}  // namespace chatd
