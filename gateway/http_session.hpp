// One accepted TCP connection, plain or TLS: HTTP requests, or the upgrade to
// a WebSocket protocol. All Beast code of the server lives behind this call.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include "gateway/address_limits.hpp"

namespace chatd {

struct gateway_context;

// With `tls`, the connection first completes a TLS handshake (context->tls)
// within the request timeout.
// `address` is the connection's claim on its source address, held until the
// connection ends.
void start_http_session(boost::asio::ip::tcp::socket socket,
                        std::shared_ptr<gateway_context> context, bool tls,
                        address_table::slot address);

}  // namespace chatd
