// The one login flow of both wire protocols (native `login`, the SDK's
// `wslogin`), and logout. A protocol reads its request into
// `login_credentials`, calls log_in once, answers the result in its own
// words, then calls peer::finish_login (which delivers any kick that
// raced ahead of the grant, so that it follows the answer).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "actors/session_service.hpp"
#include "gateway/instance_state.hpp"
#include "metrics/metrics.hpp"
#include "protocol/app_config.hpp"
#include "protocol/login_request.hpp"

namespace chatd {

class peer;
struct gateway_context;

// An A2 (the SDK's re-login after a reconnect, protocol/a2.hpp).
struct a2_credential {
  std::string token;
  chatd::platform platform = chatd::platform::web;
};

// A login request as its protocol read it, before any check.
struct login_credentials {
  std::uint32_t claimed_sdkappid = 0;  // for the metrics, before any check
  // The code that refused the request as read, or its credential.
  std::variant<errc, login_request, a2_credential> read;
};

// A UserSig login request in the native shape ({SDKAppID, userID,
// userSig, platform, deviceName, syncFromSeq}), parsed.
login_credentials read_usersig_login(const boost::json::object& fields,
                                     std::uint32_t claimed_sdkappid);

struct login_outcome {
  errc code = errc::ok;
  // The client already carried an instance (a repeat login): `login` is it.
  bool repeat = false;
  active_login login;                     // when ok
  std::shared_ptr<const app_config> app;  // the snapshot the login was checked and admitted on
  std::optional<std::uint64_t> sync_from_seq;
};

// Repeat and in-flight checks, the address's login budget, the checks of
// CONTRACT §1 on one snapshot of the app, admission by the user's
// registry, and the timeline's head for a resuming login. Counted and timed.
boost::asio::awaitable<login_outcome> log_in(std::shared_ptr<peer> self,
                                             login_credentials credentials);

// The checks of CONTRACT §1 for a UserSig on `app` (nullptr: unknown),
// feeding failures to the brute-force lock (also renewUserSig's).
login_verdict check_usersig(gateway_context& context, const peer& self,
                            const login_request& request, const app_config* app);

// The sig is valid through its last second; it expires at the next one.
std::int64_t sig_expiry_ms(const usersig::claims& claims);

// Takes the client's current instance offline (it must hold a login),
// logs and counts the logout. 2024 means a kick won the race and its
// notice is on its way; 70500 that the actors did not answer (the
// instance is still believed online).
boost::asio::awaitable<errc> log_out(std::shared_ptr<peer> self, metrics::logout_reason reason);

// Moves the instance's sig expiry (renewUserSig). A plain function, not a
// coroutine: its lambda captures its arguments (docs/DESIGN.md, "GCC 12
// coroutine pitfalls": as a coroutine it freed the session handle twice).
boost::asio::awaitable<outcome<errc>> ask_renew(session_service& sessions, session_handle session,
                                                std::int64_t until);

}  // namespace chatd
