// One churn cycle of chat-loadgen, as lean as the floor server it is meant
// to saturate: connect, upgrade, login, wait for sdkStateReady, logout,
// destroy, answer the server's close, done. Callback-driven on raw sockets
// with chatd's own frame codec (protocol/websocket_frame.hpp); no coroutine,
// no Beast stream, one small JSON parse per received frame.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <optional>
#include <string>

namespace chatd::loadgen {

struct cycle_target {
  boost::asio::ip::tcp::endpoint server;
  std::string host;                               // the Host header
  std::string path;                               // e.g. /v1/ws
  std::optional<boost::asio::ip::address> local;  // source address, if spread
};

// The server a ws:// URL names; throws std::runtime_error for other URLs.
cycle_target target_of(const std::string& url);

struct cycle_result {
  int code = 0;            // the login's code; -1: no answer (connection failed or timed out)
  double ready_ms = 0;     // connect to sdkStateReady
  bool completed = false;  // logout and destroy answered, close handshake done
};

// Starts one cycle; `done` is called exactly once, on the io_context's thread.
// `login_data` is the JSON object of the login op's data.
void start_churn_cycle(boost::asio::io_context& io, cycle_target target, std::string login_data,
                       std::function<void(const cycle_result&)> done);

}  // namespace chatd::loadgen
