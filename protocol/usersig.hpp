// TLS-Sig API v2 UserSig: verification and generation, byte-compatible with
// Tencent's official generators (see ../shared/TENCENT-FACTS.md §1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/error_codes.hpp"

namespace chatd::usersig {

// What a UserSig says about itself, once decoded.
struct claims {
  std::int64_t sdkappid = 0;
  std::string identifier;
  std::int64_t time = 0;               // issue time, unix seconds
  std::int64_t expire = 0;             // validity, seconds
  std::optional<std::string> userbuf;  // standard base64 text, as signed

  // The last second at which the sig is still valid (inclusive).
  std::int64_t last_valid_second() const { return time + expire; }
};

struct expected_identity {
  std::uint32_t sdkappid = 0;
  std::string_view user_id;
  std::string_view key;  // the app's secret key, used as raw bytes
};

struct verdict {
  errc code = errc::ok;
  usersig::claims claims;  // filled whenever the sig could be decoded
};

// Checks in CONTRACT §1 order: empty 70002, undecodable 70003, sdkappid 70014,
// identifier 70013, HMAC 70009, expiry 70001. Kick revocation (70052) is the
// caller's business, since it needs the store.
verdict verify(std::string_view user_sig, const expected_identity& expected, std::int64_t now_s);

// Decodes without checking the HMAC; nullopt when the sig is malformed.
std::optional<claims> decode(std::string_view user_sig);

// The JSON document inside a sig, as its generator wrote it.
std::optional<std::string> decoded_json(std::string_view user_sig);

struct sig_request {
  std::string_view key;
  std::uint32_t sdkappid = 0;
  std::string_view identifier;
  std::int64_t expire = 86400 * 180;
  std::int64_t time = 0;                   // issue time; callers pass "now"
  std::optional<std::string> userbuf_raw;  // binary userbuf, base64-encoded inside
};

// Produces the same bytes as the official Node generator (tls-sig-api-v2).
std::string generate(const sig_request& request);

}  // namespace chatd::usersig
