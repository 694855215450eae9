// One client connection as the op handlers see it: its login state and a
// bounded outbox. Socket-free (no Beast): the WebSocket code drains the
// outbox. Every member is used on the connection's strand only, except
// make_sink(), whose sink is thread-safe.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "actors/session_service.hpp"

namespace chatd {

struct outgoing_frame {
  std::string text;
  bool close = false;  // a close frame instead of text
  std::uint16_t close_code = 1000;
  std::string close_reason;
};

using outbox_channel =
    boost::asio::experimental::channel<void(boost::system::error_code, outgoing_frame)>;

// Which protocol the connection speaks: the native JSON protocol (/v1/ws),
// or the Tencent Web SDK's (/binfo binary frames, /info text frames).
enum class wire_dialect : std::uint8_t { native, tencent_sdk };

struct active_login {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  std::string instance_id;
  chatd::platform platform = chatd::platform::web;
  std::int64_t sig_expires_at_ms = 0;
  session_handle session;
};

class client_link : public std::enable_shared_from_this<client_link> {
 public:
  client_link(boost::asio::any_io_executor strand, std::size_t outbox_frames, std::string origin,
              wire_dialect dialect = wire_dialect::native, bool binary_frames = false);

  wire_dialect dialect() const { return dialect_; }
  bool binary_frames() const { return binary_frames_; }
  // Tencent SDK: the instance's sig expired; the next reply carries 70001.
  bool sig_expired_unreported() const { return sig_expired_unreported_; }
  void sig_expiry_reported() { sig_expired_unreported_ = false; }

  const boost::asio::any_io_executor& strand() const { return strand_; }
  outbox_channel& outbox() { return outbox_; }
  const std::string& origin() const { return origin_; }

  // Queues a text frame. A client that does not read fills its outbox; it is
  // then aborted (not allowed to grow memory). Returns false if dropped.
  bool send(std::string text);
  // Backpressure for the reader: true while the outbox is over half full, so
  // a client that sends fast but reads is slowed down instead of cut off.
  bool outbox_crowded() const { return queued_ * 2 >= capacity_; }
  // Completes when the writer has drained the outbox to a quarter, or with
  // timed-out (no error) after `limit`: the client has stopped reading.
  template <class Token>
  auto async_wait_drained(std::chrono::steady_clock::duration limit, Token&& token) {
    drained_.expires_after(limit);
    return drained_.async_wait(std::forward<Token>(token));
  }
  // The writer took one frame off the outbox.
  void frame_written();
  // A frame (or a WebSocket ping) arrived. Thread-safe: the gateway's idle
  // sweep reads it from another thread.
  void touch() { last_frame_ms_.store(steady_ms(), std::memory_order_relaxed); }
  std::int64_t idle_ms() const {
    return steady_ms() - last_frame_ms_.load(std::memory_order_relaxed);
  }
  static std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // Queues a close frame after what is already queued.
  void close(std::uint16_t code, std::string reason);
  bool closing() const { return closing_ || ended_; }
  // Called by the socket side when the connection is gone for good.
  void end();
  bool ended() const { return ended_; }
  // Set by the socket side: tears the TCP connection down at once.
  std::function<void()> on_abort;

  // --- login state -------------------------------------------------------
  const std::optional<active_login>& login() const { return login_; }
  bool login_in_flight() const { return login_in_flight_; }
  // Starts a login attempt; returns its sink, tied to this attempt.
  std::shared_ptr<instance_sink> begin_login();
  // The attempt succeeded: the instance is ready. Delivers a kick or loss
  // that raced ahead of the grant (it then follows sdkStateReady).
  void finish_login(active_login login);
  void fail_login();
  // Logout or destroy finished: the instance is offline, no kick pending.
  void clear_login();
  void set_sig_expiry(std::int64_t ms) {
    if (login_)
      login_->sig_expires_at_ms = ms;
  }

 private:
  struct pending_fate;
  class sink;
  void on_kicked(std::uint64_t attempt, const kick_notice& notice);
  void on_lost(std::uint64_t attempt);
  void deliver_kick(const kick_notice& notice);
  void deliver_sdk_kick(const kick_notice& notice);
  void deliver_loss();

  boost::asio::any_io_executor strand_;
  outbox_channel outbox_;
  boost::asio::steady_timer drained_;
  std::atomic<std::int64_t> last_frame_ms_{steady_ms()};
  std::size_t capacity_;
  std::size_t queued_ = 0;
  std::string origin_;
  wire_dialect dialect_;
  bool binary_frames_;
  bool sig_expired_unreported_ = false;
  std::uint64_t push_seq_ = 0;
  bool closing_ = false;
  bool ended_ = false;

  std::optional<active_login> login_;
  bool login_in_flight_ = false;
  std::uint64_t login_attempt_ = 0;
  // A kick (or loss) that arrived before the login grant did.
  std::optional<kick_notice> early_kick_;
  bool early_loss_ = false;
};

}  // namespace chatd
