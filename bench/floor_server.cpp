// The floor: the least a server must do to serve chat-loadgen's login-hold,
// churn and message modes, so that chatd's cost can be read as a ratio to it
// in the same run. Single-threaded Asio + Beast WebSocket, callbacks (no
// coroutines), the same JSON codec as chatd; a login is answered without any
// check, actor, store or metric; a message is relayed from memory (a seq per
// recipient, nothing stored, nothing durable).
//   floor_server [port]      prints "listening gateway=127.0.0.1:PORT"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>

#include "protocol/frame.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using chatd::errc;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::uint64_t next_instance = 1;

class floor_session;
// Who is online (the last login of each user), and each user's next seq.
std::unordered_map<std::string, std::weak_ptr<floor_session>> online;
std::unordered_map<std::string, std::uint64_t> heads;

class floor_session : public std::enable_shared_from_this<floor_session> {
 public:
  explicit floor_session(tcp::socket socket) : ws_(std::move(socket)) {}

  void start() {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.async_accept([self = shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->read();
    });
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      self->handle(beast::buffers_to_string(self->buffer_.data()));
      self->buffer_.consume(self->buffer_.size());
      self->read();
    });
  }

  void handle(const std::string& text) {
    auto parsed = chatd::frame::parse_request(text);
    auto* request = std::get_if<chatd::frame::request>(&parsed);
    if (request == nullptr)
      return;
    if (request->op == "login") {
      user_ = json::value_to<std::string>(request->data.at("userID"));
      instance_ = std::to_string(next_instance++);
      online[user_] = weak_from_this();
      send(chatd::frame::encode_response(request->seq, errc::ok,
                                         {{"userID", user_},
                                          {"instanceID", instance_},
                                          {"platform", "Web"},
                                          {"serverTime", now_ms()},
                                          {"sigExpireAt", now_ms() + 86400000},
                                          {"repeatLogin", false}}));
      send(chatd::frame::encode_event("sdkStateReady",
                                      {{"userID", user_}, {"instanceID", instance_}}));
    } else if (request->op == "sendMessage") {
      relay(*request);
    } else if (request->op == "logout") {
      send(chatd::frame::encode_response(request->seq, errc::ok));
      send(chatd::frame::encode_event("sdkStateNotReady", {{"reason", 0}}));
    } else if (request->op == "destroy") {
      send(chatd::frame::encode_response(request->seq, errc::ok));
      closing_ = true;
    } else {
      send(chatd::frame::encode_response(request->seq, errc::ok, {{"serverTime", now_ms()}}));
    }
  }

  void relay(const chatd::frame::request& request) {
    const auto to = json::value_to<std::string>(request.data.at("to"));
    const auto& text = request.data.at("text");
    const auto seq = ++heads[to];
    const auto time = now_ms();
    const auto id = std::to_string(next_instance++);
    send(chatd::frame::encode_response(request.seq, errc::ok,
                                       {{"messageID", id}, {"seq", seq}, {"time", time}}));
    if (auto it = online.find(to); it != online.end())
      if (auto peer = it->second.lock())
        peer->send(chatd::frame::encode_event("messageReceived", {{"from", user_},
                                                                  {"to", to},
                                                                  {"text", text},
                                                                  {"messageID", id},
                                                                  {"time", time},
                                                                  {"clientMsgID", ""},
                                                                  {"seq", seq},
                                                                  {"flow", "in"}}));
  }

 public:
  void send(std::string text) {
    outbox_.push_back(std::move(text));
    if (outbox_.size() == 1)
      write();
  }

 private:
  void write() {
    ws_.async_write(asio::buffer(outbox_.front()), [self = shared_from_this()](beast::error_code ec,
                                                                               std::size_t) {
      if (ec)
        return;
      self->outbox_.pop_front();
      if (!self->outbox_.empty())
        self->write();
      else if (self->closing_)
        self->ws_.async_close(websocket::close_code::normal, [self](beast::error_code) {});
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> outbox_;
  std::string user_;
  std::string instance_;
  bool closing_ = false;
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<floor_session>(std::move(socket))->start();
    }
    accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
  asio::io_context io{1};
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
  acceptor.listen(asio::socket_base::max_listen_connections);
  std::cout << "listening gateway=127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
  accept(acceptor);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](beast::error_code, int) { io.stop(); });
  io.run();
}
