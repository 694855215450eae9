#include "gateway/connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "gateway/tls_stream.hpp"
#include "metrics/metrics.hpp"

namespace chatd {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// How long the peer has to answer our close frame, and a crowded outbox to
// drain, before the TCP connection is cut.
constexpr std::int64_t close_grace_ms = 5000;

// One read buffer per io thread: a connection holds none while it waits.
std::span<char> thread_read_buffer() {
  thread_local std::vector<char> buffer(64 * 1024);
  return buffer;
}

}  // namespace

connection::connection(socket_type socket, upgrade_info info)
    : socket_(std::move(socket)),
      strand_(socket_.get_executor()),
      limits_(info.limits),
      origin_(std::move(info.origin)),
      binary_frames_(info.binary_frames),
      address_(std::move(info.address)) {}

// The TLS stream keeps the TCP socket; socket_ stays closed, on the same
// strand (the stream's executor).
connection::connection(std::unique_ptr<tls_link> tls, upgrade_info info)
    : connection(socket_type(tls->stream.get_executor()), std::move(info)) {
  tls_ = std::move(tls);
}

connection::socket_type& connection::tcp_socket() {
  return tls_ ? boost::beast::get_lowest_layer(tls_->stream).socket() : socket_;
}

connection::~connection() {
  if (!ended_)
    end();           // an exception skipped the normal end: the handler is still told
  handler_.reset();  // before the link's members go: it may still reach them
  metrics::connection_closed();
}

std::int64_t connection::steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void connection::start(std::unique_ptr<link_handler> handler, std::string early_bytes) {
  handler_ = std::move(handler);
  metrics::connection_opened();
  error_code ignored;
  if (!tls_)
    socket_.non_blocking(true, ignored);
  handler_->on_start();
  if (ended_)
    return;
  if (!early_bytes.empty())
    consume({early_bytes.data(), early_bytes.size()});
  if (!ended_)
    wait_readable();
}

void connection::shut_down() {
  if (!ended_)
    handler_->on_shutdown();
  close(1001, "server shutting down");
}

// --- reading --------------------------------------------------------------

void connection::wait_readable() {
  if (tls_) {
    tls_->stream.async_read_some(asio::buffer(tls_->buffer),
                                 [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                   self->on_tls_read(ec, n);
                                 });
    return;
  }
  socket_.async_wait(socket_type::wait_read,
                     [self = shared_from_this()](const error_code& ec) { self->on_readable(ec); });
}

// true: the connection ended (counted unless the peer simply went away).
bool connection::read_failed(const error_code& ec) {
  if (!ec)
    return false;
  const bool peer_left = ec == asio::error::eof || ec == asio::error::connection_reset ||
                         ec == asio::ssl::error::stream_truncated ||
                         ec == asio::error::operation_aborted;
  if (!peer_left && !closing())
    metrics::connection_failed(metrics::connection_error::read_error);
  end();
  return true;
}

void connection::on_tls_read(const error_code& ec, std::size_t n) {
  if (ended_ || read_failed(ec))
    return;
  last_frame_ms_.store(steady_ms(), std::memory_order_relaxed);
  consume({tls_->buffer.data(), n});
  if (!ended_ && !read_paused_)
    wait_readable();
}

void connection::on_readable(const error_code& ec) {
  if (ec) {
    end();
    return;
  }
  auto buffer = thread_read_buffer();
  for (;;) {
    error_code read_ec;
    const auto n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), read_ec);
    if (read_ec == asio::error::would_block || read_ec == asio::error::try_again)
      break;
    if (read_failed(read_ec))
      return;
    last_frame_ms_.store(steady_ms(), std::memory_order_relaxed);
    consume(buffer.first(n));
    if (ended_ || read_paused_ || n < buffer.size())
      break;
  }
  if (!ended_ && !read_paused_)
    wait_readable();
}

void connection::consume(std::span<char> bytes) {
  if (pending_.empty()) {
    const auto used = parse_frames(bytes);
    if (!ended_ && used < bytes.size())
      pending_.assign(bytes.data() + used, bytes.size() - used);
    return;
  }
  pending_.append(bytes.data(), bytes.size());
  const auto used = parse_frames({pending_.data(), pending_.size()});
  if (ended_)
    return;
  pending_.erase(0, used);
  if (pending_.empty())
    std::string().swap(pending_);  // an idle connection keeps no buffer
}

// Handles every complete frame in `bytes`; returns the bytes consumed.
std::size_t connection::parse_frames(std::span<char> bytes) {
  std::size_t used = 0;
  const auto max = limits_.max_frame_bytes;
  while (!ended_ && !close_received_ && !read_paused_) {
    auto parsed = websocket::parse_frame(bytes.subspan(used), websocket::role::server, max);
    if (parsed.status == websocket::parse_status::need_more)
      break;
    if (parsed.status == websocket::parse_status::failed) {
      if (parsed.close_code == websocket::close_code::too_big)
        metrics::connection_failed(metrics::connection_error::frame_too_big);
      fail(parsed.close_code, parsed.reason);
      return bytes.size();
    }
    used += parsed.frame.wire_size;
    if (!on_frame(parsed.frame))
      return bytes.size();
  }
  return close_received_ ? bytes.size() : used;
}

// false: the connection failed; stop parsing.
bool connection::on_frame(const websocket::frame& f) {
  using websocket::opcode;
  switch (f.opcode) {
    case opcode::ping:
      queue(opcode::pong, std::string(f.payload));
      return true;
    case opcode::pong:
      return true;
    case opcode::close:
      on_close_frame(f.payload);
      return true;
    case opcode::continuation:
      if (!in_message_) {
        fail(websocket::close_code::protocol_error, "continuation without a message");
        return false;
      }
      break;
    case opcode::text:
    case opcode::binary:
      if (in_message_) {
        fail(websocket::close_code::protocol_error, "message interrupted");
        return false;
      }
      message_binary_ = f.opcode == opcode::binary;
      if (f.fin) {
        on_message(std::string(f.payload), message_binary_);
        return !ended_;
      }
      in_message_ = true;
      break;
  }
  if (message_.size() + f.payload.size() > limits_.max_frame_bytes) {
    metrics::connection_failed(metrics::connection_error::frame_too_big);
    fail(websocket::close_code::too_big, "message too big");
    return false;
  }
  message_.append(f.payload);
  if (f.fin) {
    in_message_ = false;
    std::string whole;
    whole.swap(message_);
    on_message(std::move(whole), message_binary_);
  }
  return !ended_;
}

void connection::on_message(std::string payload, bool binary) {
  if (closing())
    return;  // drain until the peer answers our close
  if (!binary && !websocket::valid_utf8(payload)) {
    fail(websocket::close_code::invalid_payload, "text frame is not valid UTF-8");
    return;
  }
  handler_->on_message(std::move(payload), binary);
  pause_reading_if_crowded();
}

// The client sends faster than it reads its answers: stop reading until it
// has read most of them, and cut it off if it never does.
void connection::pause_reading_if_crowded() {
  if (read_paused_ || backlog() * 4 < capacity())
    return;
  read_paused_ = true;
  deadline_ms_.store(steady_ms() + limits_.send_stall_timeout.count() * 1000,
                     std::memory_order_relaxed);
}

void connection::resume_reading_if_drained() {
  if (!read_paused_ || ended_ || backlog() * 8 > capacity())
    return;
  read_paused_ = false;
  deadline_ms_.store(0, std::memory_order_relaxed);
  if (!pending_.empty())
    consume({});  // frames that arrived while paused
  if (!ended_ && !read_paused_)
    wait_readable();
}

connection::op_token::op_token(std::shared_ptr<connection> link) : link_(std::move(link)) {
  ++link_->ops_in_flight_;
}

connection::op_token::~op_token() {
  if (!link_)
    return;  // moved from
  --link_->ops_in_flight_;
  link_->resume_reading_if_drained();
  if (!link_->ended_)
    link_->handler_->on_drained();
}

void connection::on_close_frame(std::string_view payload) {
  close_received_ = true;
  const auto info = websocket::parse_close_payload(payload);
  if (close_sent_) {
    abort();  // the handshake is complete: the server closes TCP first
    return;
  }
  // Answer with the peer's code; the socket closes once our frame is out.
  const auto code = !info.valid         ? info.code
                    : info.code == 1005 ? websocket::close_code::normal
                                        : info.code;
  close(code, {});
}

void connection::fail(std::uint16_t code, std::string_view reason) {
  spdlog::debug("closing connection: {} ({})", reason, code);
  if (close_sent_) {
    abort();
    return;
  }
  close(code, std::string(reason));
  close_received_ = true;  // stop reading what follows: it cannot be trusted
}

// --- writing --------------------------------------------------------------

bool connection::send(std::string payload) {
  if (closing())
    return false;
  if (queued_frames() >= capacity()) {
    spdlog::warn("client does not read; its outbox is full, disconnecting");
    metrics::connection_failed(metrics::connection_error::slow_client);
    abort();
    return false;
  }
  queue(binary_frames_ ? websocket::opcode::binary : websocket::opcode::text, std::move(payload));
  return true;
}

void connection::close(std::uint16_t code, std::string reason) {
  if (closing())
    return;
  queue(websocket::opcode::close, websocket::close_payload(code, reason));
  close_sent_ = true;  // after queuing it: nothing is queued behind our close
  deadline_ms_.store(steady_ms() + close_grace_ms, std::memory_order_relaxed);
}

void connection::abort() {
  end();
}

void connection::queue(websocket::opcode op, std::string payload) {
  if (ended_ || close_sent_)
    return;
  queued_.push_back(out_frame{op, std::move(payload)});
  schedule_flush();
}

// Deferred to the end of the current handler, so that the frames it queues
// (a login answer and sdkStateReady) leave in one write.
void connection::schedule_flush() {
  if (flush_scheduled_ || !writing_.empty())
    return;
  flush_scheduled_ = true;
  asio::post(strand_, [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->flush();
  });
}

void connection::flush() {
  if (ended_ || queued_.empty() || !writing_.empty())
    return;
  writing_.swap(queued_);
  write_headers_.resize(writing_.size() * 14);
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(writing_.size() * 2);
  std::size_t offset = 0;
  for (const auto& f : writing_) {
    const auto n = websocket::write_header(write_headers_.data() + offset, f.op, f.payload.size());
    buffers.emplace_back(write_headers_.data() + offset, n);
    buffers.emplace_back(f.payload.data(), f.payload.size());
    offset += n;
  }
  auto done = [self = shared_from_this()](const error_code& ec, std::size_t) {
    self->on_written(ec);
  };
  if (tls_)
    asio::async_write(tls_->stream, buffers, std::move(done));
  else
    asio::async_write(socket_, buffers, std::move(done));
}

void connection::on_written(const error_code& ec) {
  const bool wrote_close = !writing_.empty() && writing_.back().op == websocket::opcode::close;
  std::vector<out_frame>().swap(writing_);
  std::string().swap(write_headers_);
  if (ec) {
    abort();
    return;
  }
  if (wrote_close && close_received_) {
    abort();  // we answered the peer's close: done
    return;
  }
  if (!queued_.empty())
    flush();
  resume_reading_if_drained();
  if (!ended_)
    handler_->on_drained();
}

connection::due connection::sweep(std::int64_t now_ms, std::int64_t idle_limit_ms) const {
  const auto deadline = deadline_ms_.load(std::memory_order_relaxed);
  if (deadline != 0 && now_ms >= deadline)
    return due::abort;
  if (now_ms - last_frame_ms_.load(std::memory_order_relaxed) >= idle_limit_ms)
    return due::idle_close;
  return due::nothing;
}

void connection::end() {
  if (ended_)
    return;
  ended_ = true;
  error_code ignored;
  tcp_socket().close(ignored);
  std::vector<out_frame>().swap(queued_);
  if (handler_)
    handler_->on_end();
}

}  // namespace chatd
