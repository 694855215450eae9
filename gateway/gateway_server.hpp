// The gateway's listening sockets (plain and TLS): WebSocket, REST and health
// checks share each.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace chatd {

struct gateway_context;

class gateway_server {
 public:
  gateway_server(boost::asio::io_context& io, std::shared_ptr<gateway_context> context);
  ~gateway_server();
  gateway_server(const gateway_server&) = delete;
  gateway_server& operator=(const gateway_server&) = delete;

  // Binds every listener of the settings (port 0 picks a free port) and
  // starts accepting; returns their ports, in the settings' order. Throws
  // std::system_error when an address cannot be bound.
  std::vector<std::uint16_t> start();
  void stop_accepting();
  // Stops accepting, tells every connection (sdkStateNotReady, close 1001)
  // and calls `done` once all are closed or `grace` has passed.
  void drain(std::chrono::milliseconds grace, std::function<void()> done);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace chatd
