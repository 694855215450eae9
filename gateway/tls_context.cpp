#include "gateway/tls_context.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <stdexcept>

namespace chatd {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_tls_context(const std::string& cert_chain_file,
                                               const std::string& private_key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_chain_file, ec);
  if (ec)
    throw std::runtime_error("tls_cert_file " + cert_chain_file + ": " + ec.message());
  context->use_private_key_file(private_key_file, ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("tls_key_file " + private_key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(context->native_handle()) != 1)
    throw std::runtime_error("tls_key_file " + private_key_file +
                             " does not match the certificate in " + cert_chain_file);
  // Tens of thousands of mostly idle connections: an idle one gives its
  // record buffers back (~34 KB each) instead of holding them.
  SSL_CTX_set_mode(context->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  return context;
}

}  // namespace chatd
