// One chatd per state folder: an exclusive lock (flock) on
// STATE_DIR/chatd.lock, held for the process's life, with the holder's PID
// in the file so that a second chatd can name it. Two processes writing one
// SQLite state would hand out the same seqs (docs/CONTRACT-NOTES.md).
#pragma once

#include <filesystem>

namespace chatd {

class state_dir_lock {
 public:
  // Creates the folder if needed; throws std::runtime_error naming the
  // folder and the holder's PID if another process holds it.
  explicit state_dir_lock(const std::filesystem::path& dir);
  ~state_dir_lock();
  state_dir_lock(const state_dir_lock&) = delete;
  state_dir_lock& operator=(const state_dir_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace chatd
