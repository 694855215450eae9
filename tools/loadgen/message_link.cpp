#include "message_link.hpp"

#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <random>

#include "protocol/websocket_frame.hpp"

namespace chatd::loadgen {

namespace asio = boost::asio;
namespace json = boost::json;
namespace ws = chatd::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class message_link : public std::enable_shared_from_this<message_link> {
 public:
  message_link(asio::io_context& io, cycle_target target, std::string login_data,
               message_link_handlers handlers)
      : socket_(io),
        target_(std::move(target)),
        login_data_(std::move(login_data)),
        handlers_(std::move(handlers)) {}

  void start() {
    error_code ec;
    socket_.open(target_.server.protocol(), ec);
    if (!ec && target_.local)
      socket_.bind({*target_.local, 0}, ec);
    if (ec)
      return end();
    socket_.async_connect(target_.server, [self = shared_from_this()](const error_code& ec) {
      if (ec)
        return self->end();
      error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      self->out_ = "GET " + self->target_.path + " HTTP/1.1\r\nHost: " + self->target_.host +
                   "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n";
      self->flush();
      self->read();
    });
  }

  void send_op(std::uint64_t seq, std::string_view op, std::string_view data) {
    std::string text = "{\"seq\":" + std::to_string(seq) + ",\"op\":\"";
    text.append(op).append("\",\"data\":").append(data).append("}");
    out_ += ws::encode_frame(ws::opcode::text, text, true, mask_());
    if (!writing_)
      flush();
  }

  void close() {
    error_code ignored;
    socket_.close(ignored);
  }

 private:
  void flush() {
    if (out_.empty() || writing_ || ended_)
      return;
    writing_ = true;
    writing_buffer_.swap(out_);
    out_.clear();
    asio::async_write(socket_, asio::buffer(writing_buffer_),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        self->writing_ = false;
                        self->writing_buffer_.clear();
                        if (ec)
                          return self->end();
                        self->flush();
                      });
  }

  void read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                              if (ec)
                                return self->end();
                              self->in_.append(self->chunk_, n);
                              if (self->consume())
                                self->read();
                            });
  }

  bool consume() {
    if (!upgraded_) {
      const auto end_of_head = in_.find("\r\n\r\n");
      if (end_of_head == std::string::npos)
        return true;
      if (in_.compare(0, 12, "HTTP/1.1 101") != 0)
        return end(), false;
      in_.erase(0, end_of_head + 4);
      upgraded_ = true;
      send_op(0, "login", login_data_);
    }
    std::size_t used = 0;
    for (;;) {
      auto parsed =
          ws::parse_frame({in_.data() + used, in_.size() - used}, ws::role::client, 1 << 20);
      if (parsed.status == ws::parse_status::need_more)
        break;
      if (parsed.status == ws::parse_status::failed)
        return end(), false;
      used += parsed.frame.wire_size;
      if (parsed.frame.opcode == ws::opcode::close)
        return end(), false;
      if (parsed.frame.opcode == ws::opcode::text)
        on_text(parsed.frame.payload);
    }
    in_.erase(0, used);
    return true;
  }

  void on_text(std::string_view payload) {
    error_code ec;
    auto value = json::parse(payload, ec);
    if (ec || !value.is_object())
      return;
    const auto& o = value.get_object();
    if (const auto* event = o.if_contains("event"); event != nullptr && event->is_string()) {
      const auto name = event->get_string();
      if (name == "sdkStateReady") {
        ready_ = true;
        maybe_logged_in();
      } else if (name == "messageReceived") {
        const auto& data = o.at("data").as_object();
        if (data.at("flow").as_string() == "in")
          handlers_.received(data.at("text").as_string(),
                             data.at("seq").to_number<std::uint64_t>());
      }
      return;
    }
    const auto seq = o.at("seq").to_number<std::uint64_t>();
    const int code = o.at("code").to_number<int>();
    if (seq == 0) {
      login_code_ = code;
      if (code != 0)
        report_login(code);
      else
        maybe_logged_in();
      return;
    }
    std::uint64_t message_seq = 0;
    if (code == 0)
      message_seq = o.at("data").at("seq").to_number<std::uint64_t>();
    handlers_.answered(seq, code, message_seq);
  }

  void maybe_logged_in() {
    if (ready_ && login_code_ == 0)
      report_login(0);
  }

  void report_login(int code) {
    if (!std::exchange(announced_, true))
      handlers_.logged_in(code);
  }

  void end() {
    if (std::exchange(ended_, true))
      return;
    close();
    report_login(-1);  // if the login never finished
    handlers_.lost();
  }

  tcp::socket socket_;
  cycle_target target_;
  std::string login_data_;
  message_link_handlers handlers_;
  std::minstd_rand mask_{std::random_device{}()};
  std::string out_;
  std::string writing_buffer_;
  bool writing_ = false;
  bool upgraded_ = false;
  bool ready_ = false;
  bool announced_ = false;
  bool ended_ = false;
  int login_code_ = -1;
  std::string in_;
  char chunk_[16384];
};

std::shared_ptr<message_link> open_message_link(asio::io_context& io, cycle_target target,
                                                std::string login_data,
                                                message_link_handlers handlers) {
  auto link = std::make_shared<message_link>(io, std::move(target), std::move(login_data),
                                             std::move(handlers));
  link->start();
  return link;
}

void send_message(message_link& link, std::uint64_t op, std::string_view to,
                  std::string_view text) {
  std::string data = "{\"to\":\"";
  data.append(to).append("\",\"text\":\"").append(text).append("\"}");
  link.send_op(op, "sendMessage", data);
}

void close_link(message_link& link) {
  link.close();
}

}  // namespace chatd::loadgen
