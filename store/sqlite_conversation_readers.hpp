// Internal to store/: a user's conversation list from the SQLite timeline
// database, read on the caller's thread from connections of its own.
// SQLite's WAL lets them read beside the store's writing thread, each
// seeing every commit made before its read began: a list never waits
// behind a batch of sends, and sends never wait behind a list (500 rows
// take about a millisecond). A connection per concurrent caller, kept for
// the next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/timeline_tables.hpp"

namespace chatd {

class sqlite_conversation_readers {
 public:
  explicit sqlite_conversation_readers(std::string file);
  ~sqlite_conversation_readers();
  sqlite_conversation_readers(const sqlite_conversation_readers&) = delete;
  sqlite_conversation_readers& operator=(const sqlite_conversation_readers&) = delete;

  // Newest first, at most max_count, without those whose last entry
  // expired. Any thread; throws std::runtime_error when SQLite fails.
  std::vector<conversation_summary> conversations(const user_ref& owner, std::size_t max_count,
                                                  std::int64_t now_ms);
  // The unread counts of the same conversations, those with none left out.
  std::vector<unread_count> unread_counts(const user_ref& owner, std::size_t max_count,
                                          std::int64_t now_ms);

 private:
  struct reader;
  std::unique_ptr<reader> take();
  void give_back(std::unique_ptr<reader> r);

  std::string file_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<reader>> idle_;
};

}  // namespace chatd
