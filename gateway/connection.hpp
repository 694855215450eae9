// One upgraded WebSocket connection: it owns the socket, the read loop, the
// outbox and its writer, and the login state of the instance (if any) it
// carries. Callback-driven, not a coroutine: an idle connection holds no
// coroutine frame, no pending operation state beyond one readiness wait, and
// no read buffer (reads go through one buffer per io thread).
//
// Everything runs on the connection's strand, except the idle sweep's reads
// of the activity clocks (atomics) and instance_sink calls (posted).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/session_service.hpp"
#include "gateway/address_limits.hpp"
#include "gateway/timeline_cursor.hpp"
#include "protocol/websocket_frame.hpp"

namespace chatd {

struct gateway_context;
struct tls_link;  // gateway/tls_stream.hpp

// Which protocol the connection speaks, chosen once at upgrade: the native
// JSON protocol (/v1/ws), or the Tencent Web SDK's (/binfo binary frames,
// /info text frames).
enum class wire_dialect : std::uint8_t { native, tencent_sdk };

struct active_login {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  std::string instance_id;
  chatd::platform platform = chatd::platform::web;
  std::int64_t sig_expires_at_ms = 0;
  session_handle session;
  // A login with syncFromSeq: its timeline's last seq when it was admitted,
  // told in the answer, so that a client resuming past it (a reset store,
  // another server) can tell (docs/CONTRACT-NOTES.md, "Messages").
  std::optional<std::uint64_t> timeline_head;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  using socket_type = boost::asio::ip::tcp::socket;

  // What the upgrade decided about the connection.
  struct upgrade_info {
    std::shared_ptr<gateway_context> context;
    std::string origin;
    wire_dialect dialect = wire_dialect::native;
    bool binary_frames = false;
    address_table::slot address;  // held until the connection is destroyed
  };

  connection(socket_type socket, upgrade_info info);
  // Over TLS (wss://): the handshake is done.
  connection(std::unique_ptr<tls_link> tls, upgrade_info info);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Registers the connection and starts reading; `early_bytes` are bytes the
  // HTTP parser read past the upgrade request.
  void start(std::string early_bytes);

  wire_dialect dialect() const { return dialect_; }
  const boost::asio::any_io_executor& strand() const { return strand_; }
  const std::string& origin() const { return origin_; }
  gateway_context& context() const { return *context_; }
  address_table::slot& address() { return address_; }

  // Queues a text (or, on /binfo, binary) message; frames queued in one
  // handler go out in one gather write. A client whose outbox is full is
  // cut off (it does not read). Returns false if dropped.
  bool send(std::string text);
  // Queues a close frame after what is already queued; later sends are dropped.
  void close(std::uint16_t code, std::string reason);
  bool closing() const { return close_sent_ || ended_; }
  // Tears the TCP connection down at once.
  void abort();

  // Frames queued or being written plus ops in flight, against capacity().
  std::size_t outbox_load() const { return backlog(); }
  std::size_t capacity() const { return capacity_; }

  // Held by each op while it runs: ops in flight count against the outbox,
  // so that a client that pipelines requests is read no faster than their
  // answers can be queued.
  class op_token {
   public:
    explicit op_token(std::shared_ptr<connection> link);
    op_token(op_token&&) noexcept = default;
    op_token& operator=(op_token&&) noexcept = default;
    ~op_token();
    connection& link() const { return *link_; }
    const std::shared_ptr<connection>& shared() const { return link_; }

   private:
    std::shared_ptr<connection> link_;
  };

  // For the gateway's once-a-second sweep (any thread): what is due now.
  enum class due : std::uint8_t { nothing, idle_close, abort };
  due sweep(std::int64_t now_ms, std::int64_t idle_limit_ms) const;

  // --- the instance this connection carries -----------------------------
  const std::optional<active_login>& login() const { return login_; }
  bool login_in_flight() const { return login_in_flight_; }
  // Starts a login attempt; returns its sink, tied to this attempt.
  std::shared_ptr<instance_sink> begin_login();
  // The attempt succeeded: the instance is ready. Delivers a kick or loss
  // that raced ahead of the grant (it then follows the ready answer).
  void finish_login(active_login login);
  void fail_login();
  // Logout or destroy finished: the instance is offline, no kick pending.
  void clear_login();
  void set_sig_expiry(std::int64_t ms) {
    if (login_)
      login_->sig_expires_at_ms = ms;
  }
  // Tencent SDK: the instance's sig expired; the next reply carries 70001.
  bool sig_expired_unreported() const { return sig_expired_unreported_; }
  void sig_expiry_reported() { sig_expired_unreported_ = false; }

  // --- the user's timeline, for the current login --------------------------
  // Identifies the current login attempt: a sync stops when it changes.
  std::uint64_t login_attempt() const { return login_attempt_; }
  timeline_cursor& timeline() { return timeline_; }
  // Queues entries (native: one messageReceived each; SDK: one msg_push)
  // and records them as delivered.
  void deliver_entries(std::span<const timeline_entry> entries);
  // Records an entry as delivered (metrics, the user's delivered mark)
  // when the caller sends it itself (an SDK getmsg reply).
  void record_delivered(const timeline_entry& entry);
  std::uint64_t next_push_seq() { return ++push_seq_; }

  static std::int64_t steady_ms();

 private:
  class sink;
  struct out_frame {
    websocket::opcode op;
    std::string payload;
  };

  // Reading.
  void wait_readable();
  void on_readable(const boost::system::error_code& ec);
  void on_tls_read(const boost::system::error_code& ec, std::size_t bytes);
  bool read_failed(const boost::system::error_code& ec);
  socket_type& tcp_socket();
  void consume(std::span<char> bytes);
  std::size_t parse_frames(std::span<char> bytes);
  bool on_frame(const websocket::frame& frame);
  void on_message(std::string_view payload, bool binary);
  void on_close_frame(std::string_view payload);
  void fail(std::uint16_t code, std::string_view reason);
  // Writing.
  void queue(websocket::opcode op, std::string payload);
  void schedule_flush();
  void flush();
  void on_written(const boost::system::error_code& ec);
  std::size_t queued_frames() const { return queued_.size() + writing_.size(); }
  std::size_t backlog() const { return queued_frames() + ops_in_flight_; }
  void pause_reading_if_crowded();
  void resume_reading_if_drained();
  // The end: the socket is gone; the instance goes offline.
  void end();
  void count_as_unauthenticated(bool yes);
  void drop_login();  // the instance went offline (logout, kick, loss)
  // Kicks and losses.
  void on_kicked(std::uint64_t attempt, const kick_notice& notice);
  void on_lost(std::uint64_t attempt);
  void on_entry(std::uint64_t attempt, const timeline_entry& entry);
  void deliver_kick(const kick_notice& notice);
  void deliver_sdk_kick(const kick_notice& notice);
  void deliver_loss();

  socket_type socket_;             // plain connections
  std::unique_ptr<tls_link> tls_;  // TLS connections (socket_ is then unused)
  boost::asio::any_io_executor strand_;
  std::shared_ptr<gateway_context> context_;
  std::string origin_;
  wire_dialect dialect_;
  bool binary_frames_;
  std::size_t capacity_;
  address_table::slot address_;

  std::string pending_;  // a partial frame, between reads
  std::string message_;  // a fragmented message being assembled
  bool in_message_ = false;
  bool message_binary_ = false;
  bool read_paused_ = false;  // outbox crowded: the client must read first
  std::size_t ops_in_flight_ = 0;

  std::vector<out_frame> queued_;
  std::vector<out_frame> writing_;
  std::string write_headers_;
  bool flush_scheduled_ = false;
  bool close_sent_ = false;      // our close frame is queued or out
  bool close_received_ = false;  // the peer's close frame arrived
  bool ended_ = false;

  std::atomic<std::int64_t> last_frame_ms_{steady_ms()};
  // 0, or when the connection is cut off unless it has made progress:
  // a close handshake or a crowded outbox that does not drain.
  std::atomic<std::int64_t> deadline_ms_{0};

  std::optional<active_login> login_;
  bool login_in_flight_ = false;
  bool sig_expired_unreported_ = false;
  std::uint64_t login_attempt_ = 0;
  std::uint64_t push_seq_ = 0;
  // A kick (or loss) that arrived before the login grant did.
  std::optional<kick_notice> early_kick_;
  bool early_loss_ = false;
  bool unauthenticated_ = false;  // counted in gateway_context::unauthenticated
  timeline_cursor timeline_;
};

}  // namespace chatd
