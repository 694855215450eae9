#include "protocol/base64.hpp"

#include <openssl/evp.h>

namespace chatd::base64 {

std::string encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> decode(std::string_view input) {
  std::string text(input);
  while (text.size() % 4 != 0)
    text.push_back('=');
  std::string out(text.size() / 4 * 3, '\0');
  EVP_ENCODE_CTX* ctx = EVP_ENCODE_CTX_new();
  EVP_DecodeInit(ctx);
  int written = 0;
  int final_written = 0;
  const bool ok = EVP_DecodeUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &written,
                                   reinterpret_cast<const unsigned char*>(text.data()),
                                   static_cast<int>(text.size())) >= 0 &&
                  EVP_DecodeFinal(ctx, reinterpret_cast<unsigned char*>(out.data()) + written,
                                  &final_written) == 1;
  EVP_ENCODE_CTX_free(ctx);
  if (!ok)
    return std::nullopt;
  out.resize(static_cast<std::size_t>(written + final_written));
  return out;
}

}  // namespace chatd::base64
