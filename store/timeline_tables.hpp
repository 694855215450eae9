// Internal to store/: the durable timeline tables under a message_store, one
// implementation per database (SQLite, PostgreSQL). batched_message_store.cpp
// holds everything else once for both (the store's thread, group commit,
// stamping, clientMsgID idempotency, caps, the delivered marks) and calls a
// timeline_tables from that one thread only (but conversations(), where
// reads_conversations_on_any_thread says so).
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/message_store.hpp"

namespace chatd {

struct user_ref {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  bool operator==(const user_ref&) const = default;
};

struct user_ref_hash {
  std::size_t operator()(const user_ref& u) const noexcept {
    return std::hash<std::string>{}(u.user_id) * 31 + u.sdkappid;
  }
};

// Where an earlier send of a clientMsgID went (sender_seq 0: not copied).
struct sent_record {
  std::string recipient;
  std::uint64_t recipient_seq = 0;
  std::uint64_t sender_seq = 0;
};

// A message's custom element, or an empty one (stored for a text message).
inline const custom_element& custom_or_empty(const chat_message& m) {
  static const custom_element none;
  return m.custom ? *m.custom : none;
}

// What a batch did to one conversation of one user: its newest seq and
// time, and how many of the peer's messages it added.
struct conversation_touch {
  user_ref owner;
  std::string peer;
  std::uint64_t last_seq = 0;
  std::int64_t last_time_ms = 0;
  std::uint64_t added_unread = 0;
};

class timeline_tables {
 public:
  virtual ~timeline_tables() = default;

  virtual std::uint64_t count_entries() = 0;

  // A batch of appends is one transaction: begin, the calls below, commit
  // (or rollback, which also undoes the seqs it handed out).
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  // Right after begin: every timeline the batch will append to. A backend
  // shared by several writers locks them here, always in one order, so that
  // two batches never wait for each other in a cycle.
  virtual void lock_timelines(const std::vector<user_ref>& users) = 0;
  // The user's next seq (never one used before, even by an expired entry).
  virtual std::uint64_t next_seq(const user_ref& user) = 0;
  virtual void insert_entry(const chat_message& m, const timeline_entry& entry,
                            std::int64_t expire_at_ms) = 0;
  // Drops the user's entries with seq <= `seq`; answers how many went.
  virtual std::uint64_t drop_through(const user_ref& user, std::uint64_t seq) = 0;
  virtual std::optional<sent_record> find_sent(std::uint32_t sdkappid, const std::string& sender,
                                               const std::string& client_msg_id) = 0;
  virtual void insert_sent(const chat_message& m, const sent_record& sent,
                           std::int64_t expire_at_ms) = 0;
  virtual std::optional<timeline_entry> entry_at(std::uint32_t sdkappid, const std::string& owner,
                                                 std::uint64_t seq) = 0;
  // The retained entries of one message in its sender's and recipient's
  // timelines (recipient's first).
  virtual std::vector<timeline_entry> entries_of_message(std::uint32_t sdkappid,
                                                         const std::string& sender,
                                                         const std::string& recipient,
                                                         const std::string& message_id,
                                                         std::int64_t now_ms) = 0;
  // Its own transaction: the entries' content removed, marked revoked, and
  // the recipient's unread count of the conversation counted again.
  virtual void write_revoke(const std::vector<timeline_entry>& entries, std::int64_t now_ms) = 0;
  // Within a batch: the conversations its entries touched, once each.
  virtual void touch_conversations(const std::vector<conversation_touch>& touches) = 0;

  // Reads, between batches.
  // The user's last seq handed out (0 if none).
  virtual std::uint64_t head(const user_ref& user) = 0;
  virtual std::vector<timeline_entry> entries_after(const user_ref& user, std::uint64_t after,
                                                    std::int64_t now_ms, std::size_t max_count) = 0;
  virtual std::vector<timeline_entry> conversation(const conversation_query& query,
                                                   std::int64_t now_ms) = 0;
  virtual std::uint64_t delivered(const user_ref& user) = 0;
  // True if conversations() and unread_counts() may be called on any
  // thread, beside batches (a backend that reads them from connections of
  // their own).
  virtual bool reads_conversations_on_any_thread() const { return false; }
  virtual std::vector<conversation_summary> conversations(const user_ref& owner,
                                                          std::size_t max_count,
                                                          std::int64_t now_ms) = 0;
  virtual std::vector<unread_count> unread_counts(const user_ref& owner, std::size_t max_count,
                                                  std::int64_t now_ms) = 0;
  virtual std::vector<std::int64_t> read_times(const user_ref& owner,
                                               const std::vector<std::string>& peers) = 0;
  // Its own transaction: the mark moved to max(mark, read_time_ms) and the
  // unread count recounted from the timeline after it.
  virtual read_mark write_read_mark(const user_ref& owner, const std::string& peer,
                                    std::int64_t read_time_ms, std::int64_t now_ms) = 0;

  // Each its own transaction.
  virtual void write_delivered(const std::vector<std::pair<user_ref, std::uint64_t>>& marks) = 0;
  // Drops expired entries and clientMsgIDs (keeping the timelines' heads);
  // answers the entries dropped.
  virtual std::uint64_t sweep(std::int64_t now_ms) = 0;
};

std::unique_ptr<message_store> make_batched_message_store(std::unique_ptr<timeline_tables> tables);

// A seq or count as the databases' signed 64-bit integer (saturating).
inline std::int64_t as_int(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX));
}

}  // namespace chatd
