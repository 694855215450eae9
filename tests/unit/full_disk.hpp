// A "full disk" for store tests: RLIMIT_FSIZE at the size of the largest
// file in `dir`, so that a write that grows a file fails (EFBIG, SIGXFSZ
// ignored), as on a full disk. Restored when destroyed.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>

namespace chatd::test {

class full_disk {
 public:
  explicit full_disk(const std::filesystem::path& dir) {
    std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &saved_);
    std::uintmax_t largest = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir))
      largest = std::max(largest, f.file_size());
    rlimit full{largest, saved_.rlim_max};
    setrlimit(RLIMIT_FSIZE, &full);
  }
  ~full_disk() { setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
};

}  // namespace chatd::test
