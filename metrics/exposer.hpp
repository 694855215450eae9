// The /metrics endpoint (prometheus-cpp pull Exposer) and chatd's registry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace chatd {

class metrics_endpoint {
 public:
  // Binds "host:port" (port 0 picks one); throws when it cannot.
  explicit metrics_endpoint(const std::string& address);
  ~metrics_endpoint();
  std::uint16_t port() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace chatd
