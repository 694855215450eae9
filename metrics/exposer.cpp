#include "metrics/exposer.hpp"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "metrics/metrics.hpp"
#include "metrics/process_collector.hpp"

namespace chatd {
namespace {

// CivetWeb (under prometheus-cpp) says only "null context" when it cannot
// bind: the same bind is tried here first, so that the error names the
// cause. "host:port" with an IPv4 host (the config checked the form).
void check_can_listen(const std::string& address) {
  const auto colon = address.rfind(':');
  sockaddr_in where{};
  where.sin_family = AF_INET;
  where.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &where.sin_addr) != 1)
    return;  // IPv6: left to CivetWeb
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&where), sizeof where) == 0;
  const int error = errno;
  ::close(fd);
  if (!bound)
    throw std::runtime_error("server.metrics_listen " + address +
                             ": cannot listen: " + std::strerror(error));
}

}  // namespace

struct metrics_endpoint::impl {
  // The Exposer holds collectables by weak_ptr: keep ours alive here.
  std::shared_ptr<metrics::process_collector> process =
      std::make_shared<metrics::process_collector>();
  std::shared_ptr<metrics::actor_collector> actors = std::make_shared<metrics::actor_collector>();
  prometheus::Exposer exposer;
  explicit impl(const std::string& address) : exposer(address, 1) {
    exposer.RegisterCollectable(metrics::registry());
    exposer.RegisterCollectable(process);
    exposer.RegisterCollectable(actors);
  }
};

metrics_endpoint::metrics_endpoint(const std::string& address) {
  check_can_listen(address);
  try {
    impl_ = std::make_unique<impl>(address);
  } catch (const std::exception& e) {
    throw std::runtime_error("server.metrics_listen " + address + ": cannot listen: " + e.what());
  }
}

metrics_endpoint::~metrics_endpoint() = default;

std::uint16_t metrics_endpoint::port() const {
  return impl_->exposer.GetListeningPorts().front();
}

}  // namespace chatd
