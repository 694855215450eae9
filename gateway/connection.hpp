// One upgraded WebSocket link: the socket (plain or TLS), the read loop, the
// framing, the outbox and its writer, the close handshake and the clocks of
// the gateway's sweep. What the messages mean is its handler's (given at
// upgrade, `link_handler`); the link knows no protocol above WebSocket.
//
// Callback-driven, not a coroutine: an idle link holds no coroutine frame,
// no pending operation state beyond one readiness wait, and no read buffer
// (reads go through one buffer per io thread). Everything runs on the
// link's strand, except the sweep's reads of the clocks (atomics).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gateway/address_limits.hpp"
#include "gateway/link_handler.hpp"
#include "protocol/websocket_frame.hpp"

namespace chatd {

struct tls_link;  // gateway/tls_stream.hpp

// The gateway settings a link enforces.
struct link_limits {
  std::size_t max_frame_bytes = 64 * 1024;
  std::size_t outbox_frames = 1024;             // queued frames before the client is cut off
  std::chrono::seconds send_stall_timeout{10};  // a client that reads nothing this long is cut off
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  using socket_type = boost::asio::ip::tcp::socket;

  // What the upgrade decided about the link.
  struct upgrade_info {
    link_limits limits;
    std::string origin;
    bool binary_frames = false;   // messages go out as binary frames (/binfo)
    address_table::slot address;  // held until the link is destroyed
  };

  connection(socket_type socket, upgrade_info info);
  // Over TLS (wss://): the handshake is done.
  connection(std::unique_ptr<tls_link> tls, upgrade_info info);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Starts reading, telling `handler` (which the link owns) what happens;
  // `early_bytes` are bytes the HTTP parser read past the upgrade request.
  void start(std::unique_ptr<link_handler> handler, std::string early_bytes);

  const boost::asio::any_io_executor& strand() const { return strand_; }
  const std::string& origin() const { return origin_; }
  address_table::slot& address() { return address_; }

  // Queues a message; frames queued in one handler go out in one gather
  // write. A client whose outbox is full is cut off (it does not read).
  // Returns false if dropped.
  bool send(std::string payload);
  // Queues a close frame after what is already queued; later sends are dropped.
  void close(std::uint16_t code, std::string reason);
  bool closing() const { return close_sent_ || ended_; }
  // Tears the TCP connection down at once.
  void abort();
  // Server shutdown: the handler's last word, then close 1001.
  void shut_down();

  // Frames queued or being written plus ops in flight, against capacity().
  std::size_t outbox_load() const { return backlog(); }
  std::size_t capacity() const { return limits_.outbox_frames; }

  // Held by each op while it runs: ops in flight count against the outbox,
  // so that a client that pipelines requests is read no faster than their
  // answers can be queued.
  class op_token {
   public:
    explicit op_token(std::shared_ptr<connection> link);
    op_token(op_token&&) noexcept = default;
    op_token& operator=(op_token&&) noexcept = default;
    ~op_token();

   private:
    std::shared_ptr<connection> link_;
  };

  // For the gateway's once-a-second sweep (any thread): what is due now.
  enum class due : std::uint8_t { nothing, idle_close, abort };
  due sweep(std::int64_t now_ms, std::int64_t idle_limit_ms) const;

  static std::int64_t steady_ms();

 private:
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
  void on_message(std::string payload, bool binary);
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
  // The end: the socket is gone; the handler is told.
  void end();

  socket_type socket_;             // plain connections
  std::unique_ptr<tls_link> tls_;  // TLS connections (socket_ is then unused)
  boost::asio::any_io_executor strand_;
  link_limits limits_;
  std::string origin_;
  bool binary_frames_;
  address_table::slot address_;
  std::unique_ptr<link_handler> handler_;

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
};

}  // namespace chatd
