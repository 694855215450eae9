#include "protocol/usersig.hpp"

#include "protocol/base64.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <zlib.h>

#include <array>
#include <boost/json.hpp>

namespace chatd::usersig {
namespace {

namespace json = boost::json;

// Generous bounds: real sigs are ~200-400 bytes; these stop zip bombs.
constexpr std::size_t max_sig_bytes = 8 * 1024;
constexpr std::size_t max_json_bytes = 16 * 1024;

using digest = std::array<unsigned char, 32>;

// Tencent's alphabet swap: '+'->'*', '/'->'-', '='->'_'. Whitespace is dropped.
std::string from_sig_alphabet(std::string_view sig) {
  std::string out;
  out.reserve(sig.size() + 3);
  for (char c : sig) {
    switch (c) {
      case '*':
        out.push_back('+');
        break;
      case '-':
        out.push_back('/');
        break;
      case '_':
        out.push_back('=');
        break;
      case ' ':
      case '\n':
      case '\r':
      case '\t':
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string to_sig_alphabet(std::string text) {
  for (char& c : text) {
    if (c == '+')
      c = '*';
    else if (c == '/')
      c = '-';
    else if (c == '=')
      c = '_';
  }
  return text;
}

// One inflate state per thread, reset between sigs: inflateInit allocates
// and clears a 32 KiB window, which dominated decoding.
struct inflater {
  z_stream zs{};
  bool ready = inflateInit(&zs) == Z_OK;
  ~inflater() {
    if (ready)
      inflateEnd(&zs);
  }
};

// Inflates any valid zlib stream (stored blocks included), bounded in size.
std::optional<std::string> inflate_zlib(std::string_view compressed) {
  thread_local inflater state;
  if (!state.ready || inflateReset(&state.zs) != Z_OK)
    return std::nullopt;
  auto& zs = state.zs;
  std::string out(max_json_bytes, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  if (rc != Z_STREAM_END)
    return std::nullopt;
  out.resize(zs.total_out);
  return out;
}

std::string deflate_zlib(std::string_view plain) {
  uLongf size = compressBound(static_cast<uLong>(plain.size()));
  std::string out(size, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &size,
            reinterpret_cast<const Bytef*>(plain.data()), static_cast<uLong>(plain.size()),
            Z_DEFAULT_COMPRESSION);
  out.resize(size);
  return out;
}

std::string signed_content(const claims& c) {
  std::string text = "TLS.identifier:" + c.identifier + "\n" +
                     "TLS.sdkappid:" + std::to_string(c.sdkappid) + "\n" +
                     "TLS.time:" + std::to_string(c.time) + "\n" +
                     "TLS.expire:" + std::to_string(c.expire) + "\n";
  if (c.userbuf)
    text += "TLS.userbuf:" + *c.userbuf + "\n";
  return text;
}

// OpenSSL 3's one-shot HMAC() fetches the algorithm from the provider on
// every call; fetching it once per thread halves the cost of a verification.
struct hmac_sha256_mac {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  ~hmac_sha256_mac() { EVP_MAC_free(mac); }
};

digest hmac_sha256(std::string_view key, std::string_view content) {
  thread_local hmac_sha256_mac cached;
  digest out{};
  char sha256[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", sha256, 0),
                         OSSL_PARAM_construct_end()};
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(cached.mac);
  std::size_t len = 0;
  if (ctx == nullptr ||
      EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) !=
          1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(content.data()), content.size()) !=
          1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1)
    out.fill(0);  // compares unequal to any real signature
  EVP_MAC_CTX_free(ctx);
  return out;
}

std::optional<std::int64_t> integer_field(const json::object& doc, std::string_view name) {
  const auto* v = doc.if_contains(name);
  if (v == nullptr)
    return std::nullopt;
  if (v->is_int64())
    return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

std::optional<std::string> string_field(const json::object& doc, std::string_view name) {
  const auto* v = doc.if_contains(name);
  if (v == nullptr || !v->is_string())
    return std::nullopt;
  return std::string(v->get_string());
}

struct decoded {
  usersig::claims claims;
  std::string signature;  // raw HMAC bytes claimed by the sig
};

std::optional<decoded> decode_full(std::string_view user_sig) {
  auto text = decoded_json(user_sig);
  if (!text)
    return std::nullopt;
  boost::system::error_code ec;
  json::value doc = json::parse(*text, ec);
  if (ec || !doc.is_object())
    return std::nullopt;
  const auto& obj = doc.get_object();
  decoded out;
  auto sdkappid = integer_field(obj, "TLS.sdkappid");
  auto identifier = string_field(obj, "TLS.identifier");
  auto time = integer_field(obj, "TLS.time");
  auto expire = integer_field(obj, "TLS.expire");
  auto sig = string_field(obj, "TLS.sig");
  if (!sdkappid || !identifier || !time || !expire || !sig || *time < 0 || *expire < 0)
    return std::nullopt;
  if (obj.contains("TLS.userbuf")) {
    out.claims.userbuf = string_field(obj, "TLS.userbuf");
    if (!out.claims.userbuf)
      return std::nullopt;
  }
  auto signature = base64::decode(*sig);
  if (!signature || signature->size() != std::tuple_size_v<digest>)
    return std::nullopt;
  out.claims.sdkappid = *sdkappid;
  out.claims.identifier = std::move(*identifier);
  out.claims.time = *time;
  out.claims.expire = *expire;
  out.signature = std::move(*signature);
  return out;
}

}  // namespace

std::optional<std::string> decoded_json(std::string_view user_sig) {
  if (user_sig.size() > max_sig_bytes)
    return std::nullopt;
  auto compressed = base64::decode(from_sig_alphabet(user_sig));
  return compressed ? inflate_zlib(*compressed) : std::nullopt;
}

std::optional<claims> decode(std::string_view user_sig) {
  auto full = decode_full(user_sig);
  if (!full)
    return std::nullopt;
  return std::move(full->claims);
}

verdict verify(std::string_view user_sig, const expected_identity& expected, std::int64_t now_s) {
  verdict result;
  if (user_sig.empty()) {
    result.code = errc::usersig_empty;
    return result;
  }
  auto full = decode_full(user_sig);
  if (!full) {
    result.code = errc::usersig_malformed;
    return result;
  }
  result.claims = full->claims;
  const auto& c = result.claims;
  if (c.sdkappid != static_cast<std::int64_t>(expected.sdkappid)) {
    result.code = errc::usersig_sdkappid_mismatch;
  } else if (c.identifier != expected.user_id) {
    result.code = errc::usersig_identifier_mismatch;
  } else if (const digest mac = hmac_sha256(expected.key, signed_content(c));
             CRYPTO_memcmp(mac.data(), full->signature.data(), mac.size()) != 0) {
    result.code = errc::usersig_key_mismatch;
  } else if (now_s > c.last_valid_second()) {
    result.code = errc::usersig_expired;
  }
  return result;
}

std::string generate(const sig_request& request) {
  claims c;
  c.sdkappid = request.sdkappid;
  c.identifier = std::string(request.identifier);
  c.time = request.time;
  c.expire = request.expire;
  if (request.userbuf_raw)
    c.userbuf = base64::encode(*request.userbuf_raw);
  const digest mac = hmac_sha256(request.key, signed_content(c));

  // Key order of the Node generator: ver, identifier, sdkappid, time, expire, [userbuf], sig.
  json::object doc;
  doc["TLS.ver"] = "2.0";
  doc["TLS.identifier"] = c.identifier;
  doc["TLS.sdkappid"] = c.sdkappid;
  doc["TLS.time"] = c.time;
  doc["TLS.expire"] = c.expire;
  if (c.userbuf)
    doc["TLS.userbuf"] = *c.userbuf;
  doc["TLS.sig"] = base64::encode({reinterpret_cast<const char*>(mac.data()), mac.size()});
  return to_sig_alphabet(base64::encode(deflate_zlib(json::serialize(doc))));
}

}  // namespace chatd::usersig
