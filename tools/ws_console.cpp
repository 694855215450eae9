#include "ws_console.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <sstream>

#include "protocol/usersig.hpp"

namespace chatd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using socket_stream = beast::websocket::stream<beast::tcp_stream>;

struct ws_url {
  std::string host, port, path;
};

ws_url parse_url(const std::string& url) {
  const std::string scheme = "ws://";
  if (url.rfind(scheme, 0) != 0)
    throw std::runtime_error("chatctl ws takes a ws:// URL (" + url + ")");
  const auto rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  const auto colon = authority.rfind(':');
  ws_url out;
  out.host = authority.substr(0, colon);
  out.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  out.path = slash == std::string::npos ? "/" : rest.substr(slash);
  return out;
}

std::int64_t now_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// One typed line as the frame to send; empty if there is nothing to send.
std::string frame_of(const std::string& line, const ws_console_app& app, std::int64_t& seq) {
  if (line.empty())
    return {};
  if (line.front() == '{')
    return line;
  std::istringstream words(line);
  std::string op;
  words >> op;
  json::object frame{{"seq", ++seq}, {"op", op}};
  if (op == "login") {
    std::string user, platform = "Web";
    words >> user >> platform;
    const auto sig = usersig::generate({app.secret_key, app.sdkappid, user, 86400, now_s(), {}});
    frame["data"] = json::object{
        {"SDKAppID", app.sdkappid}, {"userID", user}, {"userSig", sig}, {"platform", platform}};
    return json::serialize(frame);
  }
  std::string data;
  std::getline(words >> std::ws, data);
  frame["data"] = data.empty() ? json::value(json::object{}) : json::parse(data);
  return json::serialize(frame);
}

asio::awaitable<void> print_frames(socket_stream& ws, int& status) {
  try {
    for (;;) {
      beast::flat_buffer buffer;
      co_await ws.async_read(buffer, asio::use_awaitable);
      std::cout << beast::buffers_to_string(buffer.data()) << std::endl;
    }
  } catch (const boost::system::system_error& e) {
    // Our own close ends the pending read one of these two ways.
    if (e.code() != beast::websocket::error::closed && e.code() != asio::error::operation_aborted) {
      std::cerr << "chatctl ws: " << e.code().message() << '\n';
      status = 1;
    }
  }
}

asio::awaitable<void> send_lines(socket_stream& ws, const ws_console_app& app, int& status) {
  asio::posix::stream_descriptor in(co_await asio::this_coro::executor, ::dup(STDIN_FILENO));
  asio::streambuf buffer;
  std::int64_t seq = 0;
  for (;;) {
    boost::system::error_code error;
    co_await asio::async_read_until(in, buffer, '\n',
                                    asio::redirect_error(asio::use_awaitable, error));
    if (error && buffer.size() == 0)
      break;  // end of input
    std::istream stream(&buffer);
    std::string line;
    std::getline(stream, line);
    if (line == "quit")
      break;
    try {
      const auto frame = frame_of(line, app, seq);
      if (!frame.empty())
        co_await ws.async_write(asio::buffer(frame), asio::use_awaitable);
    } catch (const std::exception& e) {
      std::cerr << "chatctl ws: not sent (" << e.what() << ")\n";
    }
    if (error)
      break;
  }
  try {
    co_await ws.async_close(beast::websocket::close_code::normal, asio::use_awaitable);
  } catch (const std::exception&) {
    status = status == 0 ? 1 : status;
  }
}

}  // namespace

int run_ws_console(const std::string& url, const ws_console_app& app) {
  const auto where = parse_url(url);
  asio::io_context io;
  socket_stream ws(io);
  tcp::resolver resolver(io);
  beast::get_lowest_layer(ws).connect(resolver.resolve(where.host, where.port));
  ws.handshake(where.host + ":" + where.port, where.path);
  std::cerr << "connected to " << url << "; type `login USER`, `OP {json}` or raw JSON, one a line"
            << std::endl;
  int status = 0;
  asio::co_spawn(io, print_frames(ws, status), asio::detached);
  asio::co_spawn(io, send_lines(ws, app, status), asio::detached);
  io.run();
  return status;
}

}  // namespace chatd
