// The `login` op: its validated input and the checks of CONTRACT §1 in order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/fwd.hpp>

#include "protocol/app_config.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/platform.hpp"
#include "protocol/usersig.hpp"

namespace chatd {

struct login_request {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  std::string user_sig;
  chatd::platform platform = chatd::platform::web;
  std::string device_name;
  // Deliver the user's timeline entries after this seq, then live ones (§2c).
  std::optional<std::uint64_t> sync_from_seq;
};

inline constexpr std::size_t max_user_id_bytes = 32;
inline constexpr std::size_t max_device_name_bytes = 128;

// 1..32 bytes of printable ASCII (0x20..0x7e).
bool is_valid_user_id(std::string_view user_id);

// Request-shape checks: 2000/2002/2003 for missing fields, 7003 for a bad
// userID, 2017 for an unknown platform or a field of the wrong type.
std::variant<login_request, errc> parse_login_request(const boost::json::object& data);

// What the caller knows about the app and user when a login arrives.
struct login_context {
  const app_config* app = nullptr;  // nullptr: unknown SDKAppID
  std::int64_t now_ms = 0;
  std::string_view origin;       // WebSocket Origin header, "" if none
  bool user_locked = false;      // too many failed verifications
  std::int64_t kick_time_s = 0;  // last REST kick of the user, 0 = never
};

struct login_verdict {
  errc code = errc::ok;
  usersig::claims claims;
};

// 70020, then the app's package (60020) and Origin (2801), then 70050, then
// the UserSig checks, then revocation by a REST kick (70052).
login_verdict check_login(const login_request& request, const login_context& context);

// Re-login with an A2 (Tencent SDK, after a reconnect): the app-level checks
// of check_login, then 70001 if the carried sig expiry has passed, then 70052
// if the user was kicked at or after the A2 was issued. `a2_valid` is false
// when the token did not verify (70003).
errc check_relogin(bool a2_valid, std::int64_t issued_at_s, std::int64_t sig_expires_at_ms,
                   const login_context& context);

// A credential issued at `issued_at_s` (a UserSig's time, an A2's issue)
// is revoked by a REST kick at or after it (70052); kick_time_s 0 = never.
bool revoked_by_kick(std::int64_t issued_at_s, std::int64_t kick_time_s);

// Only UserSig verification failures count towards the brute-force lock.
bool counts_as_failed_verification(errc code);

}  // namespace chatd
