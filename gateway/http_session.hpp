// One accepted TCP connection: HTTP requests, or the upgrade to the native
// WebSocket protocol. All Beast code of the server lives behind this call.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>

namespace chatd {

struct gateway_context;

void start_http_session(boost::asio::ip::tcp::socket socket,
                        std::shared_ptr<gateway_context> context);

}  // namespace chatd
