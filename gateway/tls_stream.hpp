// Internal to gateway/: a TLS connection's stream (Beast's ssl_stream, which
// coalesces a gather write into few TLS records) and the buffer its reads
// fill. Included only by the two files that touch TLS sockets.
#pragma once

#include <array>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace chatd {

using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// An upgraded TLS connection's transport. A plain connection reads on
// readiness into a per-thread buffer; a TLS read must own its buffer while
// it waits (OpenSSL may hold decrypted bytes the socket no longer shows).
struct tls_link {
  explicit tls_link(tls_stream&& s) : stream(std::move(s)) {}
  tls_stream stream;
  std::array<char, 4096> buffer{};
};

}  // namespace chatd
