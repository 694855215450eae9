// A whole chatd inside a host process: the actor system, the stores, the
// gateway's listeners and the metrics endpoint, wired from one
// server_config and served on threads of its own. `chatd` (main.cpp) is its
// thinnest user; an app that hosts chatd embeds it the same way.
//
// Process-wide choices stay with the host: the open-file limit, SIGXFSZ
// (chatd ignores it so that a file size limit is a failed write), signals,
// and logging (spdlog's default logger).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "server/config.hpp"

namespace chatd {

struct server_ports {
  std::uint16_t gateway = 0;             // `listen` (wss/https when TLS is configured)
  std::uint16_t metrics = 0;             // `metrics_listen`
  std::optional<std::uint16_t> plain;    // `plain_listen`, beside a TLS `listen`
  std::optional<std::uint16_t> cluster;  // `cluster.listen`, on a cluster node
};

// Whose threads serve: chatd's own (server.io_threads of them), or the
// host's, each of which calls run().
enum class serving_threads { own, host };

class server {
 public:
  // Opens the state and timeline stores under config.state_dir and starts
  // the actor system. Throws std::exception (a store that cannot open, a
  // TLS file that cannot be used).
  explicit server(server_config config);
  // Stops at once (no drain) if still running.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds every listener (port 0 picks a free one) and serves on
  // io_threads threads of its own, or on the host's threads that call
  // run(). Throws std::system_error if an address cannot be bound. Call once.
  server_ports start(serving_threads threads = serving_threads::own);
  // With serving_threads::host: serves on the calling thread until stop()
  // has drained; call it from as many threads as should serve (io_threads()
  // is the concurrency chatd was sized for). Returns at once after a stop.
  void run();
  // Drains: stops accepting, tells every connection (sdkStateNotReady,
  // close 1001), waits until all are closed or `grace` has passed, then
  // stops the threads and flushes the store. Blocks; safe to call twice
  // and from any thread but the server's own (or one inside run()).
  void stop(std::chrono::milliseconds grace);
  // Blocks until a stop() has finished.
  void wait();

  std::size_t io_threads() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace chatd
