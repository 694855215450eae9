// What the gateway needs from the rest of the server, injected by main so
// that gateway/ holds no business state of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/session_service.hpp"
#include "protocol/app_config.hpp"

namespace chatd {

struct gateway_settings {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::chrono::seconds idle_timeout{300};
  std::size_t max_frame_bytes = 64 * 1024;
  std::size_t outbox_frames = 1024;             // queued frames per client before it is cut off
  std::chrono::seconds send_stall_timeout{10};  // a client that reads nothing this long is cut off
  std::chrono::seconds handshake_timeout{30};
};

// Per-user facts the login checks need that live outside the gateway.
class login_guard {
 public:
  virtual ~login_guard() = default;
  virtual bool is_locked(std::uint32_t sdkappid, const std::string& user_id) = 0;
  virtual void record_failure(std::uint32_t sdkappid, const std::string& user_id) = 0;
  virtual std::int64_t kick_time_s(std::uint32_t sdkappid, const std::string& user_id) = 0;
};

struct gateway_context {
  gateway_settings settings;
  session_service& sessions;
  std::function<std::shared_ptr<const app_config>(std::uint32_t)> find_app;
  login_guard* guard = nullptr;  // optional
  std::atomic<bool> accepting{false};
};

inline std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace chatd
