// What the gateway needs from the rest of the server, injected by main so
// that gateway/ holds no business state of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/reply.hpp"
#include "actors/session_service.hpp"
#include "gateway/address_limits.hpp"
#include "protocol/app_config.hpp"
#include "protocol/profile.hpp"

namespace boost::asio::ssl {
class context;
}

namespace chatd {

// One listening address of the gateway: plain (ws://, http://) or TLS
// (wss://, https://); WebSocket, REST and health checks share each.
struct listener_settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port
  bool tls = false;
  std::string key = "server.listen";  // the config key it comes from, for errors
};

struct gateway_settings {
  std::vector<listener_settings> listeners{listener_settings{}};
  std::chrono::seconds idle_timeout{300};
  std::size_t max_frame_bytes = 64 * 1024;
  std::size_t outbox_frames = 1024;             // queued frames per client before it is cut off
  std::chrono::seconds send_stall_timeout{10};  // a client that reads nothing this long is cut off
  // An HTTP request (REST, or the WebSocket upgrade) must arrive whole in
  // this time (slowloris), with a header block of at most this size.
  std::chrono::seconds request_timeout{10};
  std::size_t max_header_bytes = 8 * 1024;
  // WebSocket connections without a logged-in instance; more get HTTP 503.
  std::int64_t max_unauthenticated = 10000;
  // Per source address: open TCP connections (more are closed at accept),
  // and login attempts per second (more are answered 60018).
  std::int64_t max_connections_per_address = 5000;
  std::int64_t max_logins_per_address_per_s = 1000;
  bool demo = false;  // GET /demo/: the demo web page (gateway/demo_assets.hpp)
};

// What the gateway needs from the rest of the server (apps, durable state,
// the brute-force lock), implemented in server/. Thread-safe.
class gateway_backend {
 public:
  virtual ~gateway_backend() = default;
  virtual std::shared_ptr<const app_config> find_app(std::uint32_t sdkappid) = 0;

  // Login checks and bookkeeping.
  virtual bool is_locked(std::uint32_t sdkappid, const std::string& user_id) = 0;
  virtual void record_failure(std::uint32_t sdkappid, const std::string& user_id) = 0;
  virtual std::int64_t kick_time_s(std::uint32_t sdkappid, const std::string& user_id) = 0;
  virtual void record_login(std::uint32_t sdkappid, const std::string& user_id) = 0;

  // Admin (REST) operations. The durable ones run on the store's thread
  // and answer once committed (unavailable: the write failed).
  virtual bool account_known(std::uint32_t sdkappid, const std::string& user_id) = 0;
  virtual void import_account(std::uint32_t sdkappid, const std::string& user_id,
                              reply<bool> done) = 0;
  // Revokes every sig issued up to now; answers the kick time (unix s).
  virtual void record_kick(std::uint32_t sdkappid, const std::string& user_id,
                           reply<std::int64_t> done) = 0;
  // Persists a change of an app's login settings (its set fields override
  // the file, its cleared ones follow the file again), applies it, and
  // answers the app as it now is.
  virtual void change_login_config(const login_config_override& change,
                                   reply<std::shared_ptr<const app_config>> done) = 0;

  // Profiles, on the store's thread: fields (checked) merged into the
  // user's stored profile, answered once durable; and the stored profiles
  // of some users, in their order.
  virtual void set_profile(std::uint32_t sdkappid, const std::string& user_id,
                           std::vector<profile_field> fields, reply<bool> done) = 0;
  virtual void get_profiles(std::uint32_t sdkappid, std::vector<std::string> user_ids,
                            reply<std::vector<user_profile>> done) = 0;
};

class peer;

// Every live peer (one per upgraded link), so that a drain and the sweep
// can reach them all.
class peer_set {
 public:
  void add(const std::shared_ptr<peer>& c) {
    std::lock_guard lock(mutex_);
    peers_.emplace(c.get(), c);
  }
  void remove(const peer* c) {
    std::lock_guard lock(mutex_);
    peers_.erase(c);
  }
  std::vector<std::shared_ptr<peer>> snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<peer>> out;
    for (const auto& [raw, weak] : peers_)
      if (auto c = weak.lock())
        out.push_back(std::move(c));
    return out;
  }
  // The live peers for which pred(const peer&) holds. The check runs
  // under the lock on the raw pointers: a peer being destroyed waits in
  // remove() for this lock (before its link goes), so both are alive; and
  // no peer is released (destroyed) while the lock is held.
  template <class Pred>
  std::vector<std::shared_ptr<peer>> select(Pred pred) const {
    std::vector<std::shared_ptr<peer>> out;
    std::lock_guard lock(mutex_);
    for (const auto& [raw, weak] : peers_)
      if (pred(*raw))
        if (auto c = weak.lock())
          out.push_back(std::move(c));
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return peers_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const peer*, std::weak_ptr<peer>> peers_;
};

class message_store;

struct gateway_context {
  gateway_settings settings;
  session_service& sessions;
  gateway_backend& backend;
  message_store& messages;
  // Set when a listener is TLS (gateway/tls_context.hpp).
  std::shared_ptr<boost::asio::ssl::context> tls;
  peer_set peers;
  address_table addresses;  // per source address: connections, login budget
  std::atomic<std::int64_t> unauthenticated{0};
  std::atomic<bool> accepting{false};
};

inline std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace chatd
