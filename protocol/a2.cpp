#include "protocol/a2.hpp"

#include "protocol/json_number.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <boost/json.hpp>

#include "protocol/base64.hpp"

namespace chatd::a2 {
namespace {

namespace json = boost::json;

// Token: base64(payload JSON) "." base64(HMAC-SHA256(key, "chatd-a2\n" + payload)).
std::string mac_of(std::string_view key, std::string_view payload) {
  const std::string content = "chatd-a2\n" + std::string(payload);
  std::array<unsigned char, 32> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac.data(), &len);
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

struct parts {
  std::string payload;
  std::string mac;
};

std::optional<parts> split(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || token.size() > 1024)
    return std::nullopt;
  auto payload = base64::decode(token.substr(0, dot));
  auto mac = base64::decode(token.substr(dot + 1));
  if (!payload || !mac)
    return std::nullopt;
  return parts{std::move(*payload), std::move(*mac)};
}

std::optional<claims> parse_payload(std::string_view payload) {
  boost::system::error_code ec;
  auto doc = json::parse(payload, ec);
  if (ec || !doc.is_object())
    return std::nullopt;
  const auto& o = doc.get_object();
  const auto* app = o.if_contains("a");
  const auto* user = o.if_contains("u");
  const auto* issued = o.if_contains("i");
  const auto* expires = o.if_contains("e");
  if (!app || !user || !issued || !expires || !user->is_string() || !issued->is_int64() ||
      !expires->is_int64())
    return std::nullopt;
  const auto sdkappid = exact_integer(*app, 1, UINT32_MAX);
  if (!sdkappid)
    return std::nullopt;
  return claims{static_cast<std::uint32_t>(*sdkappid), std::string(user->get_string()),
                issued->get_int64(), expires->get_int64()};
}

}  // namespace

std::string issue(const claims& c, std::string_view app_key) {
  const auto payload = json::serialize(json::object{
      {"a", c.sdkappid}, {"u", c.user_id}, {"i", c.issued_at_s}, {"e", c.sig_expires_at_ms}});
  return base64::encode(payload) + "." + base64::encode(mac_of(app_key, payload));
}

std::optional<std::uint32_t> sdkappid_of(std::string_view token) {
  auto p = split(token);
  if (!p)
    return std::nullopt;
  auto c = parse_payload(p->payload);
  return c ? std::optional<std::uint32_t>(c->sdkappid) : std::nullopt;
}

std::optional<claims> verify(std::string_view token, std::string_view app_key) {
  auto p = split(token);
  if (!p)
    return std::nullopt;
  const auto expected = mac_of(app_key, p->payload);
  if (p->mac.size() != expected.size() ||
      CRYPTO_memcmp(p->mac.data(), expected.data(), expected.size()) != 0)
    return std::nullopt;
  return parse_payload(p->payload);
}

}  // namespace chatd::a2
