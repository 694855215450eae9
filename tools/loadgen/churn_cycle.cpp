#include "churn_cycle.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <memory>
#include <random>

#include "protocol/websocket_frame.hpp"

namespace chatd::loadgen {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace ws = chatd::websocket;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

// A cycle that has not finished in this time is counted as failed.
constexpr std::chrono::seconds cycle_timeout{30};

enum class stage : std::uint8_t { upgrading, logging_in, logging_out, destroying, closing };

std::uint32_t next_mask() {
  static std::minstd_rand random{std::random_device{}()};
  return static_cast<std::uint32_t>(random());
}

class cycle : public std::enable_shared_from_this<cycle> {
 public:
  cycle(asio::io_context& io, cycle_target target, std::string login_data,
        std::function<void(const cycle_result&)> done)
      : socket_(io),
        timer_(io),
        target_(std::move(target)),
        login_data_(std::move(login_data)),
        done_(std::move(done)) {}

  void start() {
    timer_.expires_after(cycle_timeout);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec)
        self->finish();
    });
    error_code ec;
    socket_.open(target_.server.protocol(), ec);
    if (!ec && target_.local)
      socket_.bind({*target_.local, 0}, ec);
    if (ec)
      return finish();
    socket_.async_connect(target_.server, [self = shared_from_this()](const error_code& ec) {
      if (ec)
        return self->finish();
      error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      self->write_raw("GET " + self->target_.path + " HTTP/1.1\r\nHost: " + self->target_.host +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n");
      self->read();
    });
  }

 private:
  void write_raw(std::string bytes) {
    auto buffer = std::make_shared<std::string>(std::move(bytes));
    asio::async_write(socket_, asio::buffer(*buffer),
                      [buffer, self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (ec)
                          self->finish();
                      });
  }

  void send_op(int seq, std::string_view op, std::string_view data = "{}") {
    std::string text = "{\"seq\":" + std::to_string(seq) + ",\"op\":\"";
    text.append(op).append("\",\"data\":").append(data).append("}");
    write_raw(ws::encode_frame(ws::opcode::text, text, true, next_mask()));
  }

  void read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                              if (ec)
                                return self->finish();
                              self->in_.append(self->chunk_, n);
                              if (self->consume())
                                self->read();
                            });
  }

  // false: the cycle is over.
  bool consume() {
    if (stage_ == stage::upgrading) {
      const auto end = in_.find("\r\n\r\n");
      if (end == std::string::npos)
        return true;
      if (in_.compare(0, 12, "HTTP/1.1 101") != 0)
        return finish(), false;
      in_.erase(0, end + 4);
      stage_ = stage::logging_in;
      send_op(1, "login", login_data_);
    }
    std::size_t used = 0;
    bool go_on = true;
    while (go_on) {
      auto parsed =
          ws::parse_frame({in_.data() + used, in_.size() - used}, ws::role::client, 1 << 20);
      if (parsed.status == ws::parse_status::need_more)
        break;
      if (parsed.status == ws::parse_status::failed)
        return finish(), false;
      used += parsed.frame.wire_size;
      go_on = on_frame(parsed.frame);
    }
    in_.erase(0, used);
    return go_on;
  }

  bool on_frame(const ws::frame& f) {
    if (f.opcode == ws::opcode::close) {
      // The server's close after destroy: answer it; it then closes TCP.
      result_.completed = stage_ == stage::destroying;
      stage_ = stage::closing;
      write_raw(ws::encode_frame(ws::opcode::close, f.payload.substr(0, 2), true, next_mask()));
      return true;
    }
    if (f.opcode != ws::opcode::text)
      return true;
    error_code ec;
    auto value = json::parse(f.payload, ec);
    if (ec || !value.is_object())
      return finish(), false;
    const auto& o = value.get_object();
    if (const auto* event = o.if_contains("event")) {
      if (event->is_string() && event->get_string() == "sdkStateReady") {
        ready_ = true;
        result_.ready_ms =
            std::chrono::duration<double, std::milli>(clock_type::now() - started_).count();
        maybe_logout();
      }
      return true;
    }
    const auto* seq = o.if_contains("seq");
    const auto* code = o.if_contains("code");
    if (seq == nullptr || code == nullptr || !code->is_int64())
      return true;
    const auto n = seq->to_number<int>();
    if (n == 1) {
      result_.code = static_cast<int>(code->get_int64());
      if (result_.code != 0)
        return finish(), false;
      login_answered_ = true;
      maybe_logout();
    } else if (n == 2) {
      stage_ = stage::destroying;
      send_op(3, "destroy");
    }
    return true;
  }

  void maybe_logout() {
    if (!ready_ || !login_answered_ || stage_ != stage::logging_in)
      return;
    stage_ = stage::logging_out;
    send_op(2, "logout");
  }

  void finish() {
    if (!done_)
      return;
    if (!login_answered_ && result_.code == 0)
      result_.code = -1;
    error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    std::exchange(done_, nullptr)(result_);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  cycle_target target_;
  std::string login_data_;
  std::function<void(const cycle_result&)> done_;
  clock_type::time_point started_ = clock_type::now();
  stage stage_ = stage::upgrading;
  bool ready_ = false;
  bool login_answered_ = false;
  cycle_result result_;
  std::string in_;
  char chunk_[4096];
};

}  // namespace

cycle_target target_of(const std::string& url_text) {
  auto url = boost::urls::parse_uri(url_text);
  if (!url || url->scheme() != "ws")
    throw std::runtime_error("needs a ws:// URL: " + url_text);
  const std::uint16_t port = url->has_port() ? url->port_number() : 80;
  cycle_target t;
  t.server = {asio::ip::make_address(std::string(url->host())), port};
  t.host = std::string(url->encoded_host_and_port());
  t.path = url->path().empty() ? "/" : std::string(url->path());
  return t;
}

void start_churn_cycle(asio::io_context& io, cycle_target target, std::string login_data,
                       std::function<void(const cycle_result&)> done) {
  std::make_shared<cycle>(io, std::move(target), std::move(login_data), std::move(done))->start();
}

}  // namespace chatd::loadgen
