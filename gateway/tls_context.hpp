// The server's TLS settings (OpenSSL through Asio): one context shared by
// every TLS connection of the gateway.
#pragma once

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace chatd {

// Loads a PEM certificate chain and its private key. TLS 1.2 and later;
// OpenSSL's buffers are released while a connection is idle. Throws
// std::runtime_error naming the file that could not be used.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_chain_file,
                                                            const std::string& private_key_file);

}  // namespace chatd
