// The A2 credential of the Tencent Web SDK protocol: an opaque token issued
// at login and presented instead of the UserSig when the SDK logs in again
// after a reconnect. chatd makes it verifiable without a shared table: an
// HMAC with the app's secret key (domain-separated from UserSig) over the
// app, user, issue time and sig expiry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatd::a2 {

struct claims {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  std::int64_t issued_at_s = 0;        // a REST kick at or after this revokes it
  std::int64_t sig_expires_at_ms = 0;  // the UserSig's expiry carries over
};

std::string issue(const claims& c, std::string_view app_key);
// The app a token claims to belong to (to find its key); nullopt if malformed.
std::optional<std::uint32_t> sdkappid_of(std::string_view token);
// nullopt when malformed or not signed with this key.
std::optional<claims> verify(std::string_view token, std::string_view app_key);

}  // namespace chatd::a2
