#include "server/state_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace chatd {
namespace {

std::string read_all(int fd) {
  std::string text(32, '\0');
  const auto n = pread(fd, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0'))
    text.pop_back();
  return text;
}

}  // namespace

state_dir_lock::state_dir_lock(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const auto file = dir / "chatd.lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error("cannot open " + file.string() + ": " + std::strerror(errno));
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const auto holder = read_all(fd_);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw std::runtime_error("server.state_dir " + dir.string() +
                               " is in use by another chatd (pid " +
                               (holder.empty() ? "unknown" : holder) +
                               "): one state folder serves one chatd; give this one another "
                               "state_dir, or stop the other");
    throw std::runtime_error("cannot lock " + file.string() + ": " + std::strerror(error));
  }
  const auto pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the PID; a second chatd just cannot name us.
  }
}

state_dir_lock::~state_dir_lock() {
  if (fd_ >= 0)
    ::close(fd_);  // releases the lock
}

}  // namespace chatd
