// The login steps shared by the native protocol (ops.cpp) and the Tencent
// SDK protocol (sdk_ops.cpp): checks, admission through the actors, logout.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "actors/session_service.hpp"
#include "gateway/connection.hpp"
#include "metrics/metrics.hpp"
#include "protocol/login_request.hpp"

namespace chatd {

struct gateway_context;

// The sig is valid through its last second; it expires at the next one.
std::int64_t sig_expiry_ms(const usersig::claims& claims);

// CONTRACT §1 checks, feeding failures to the brute-force lock.
login_verdict run_login_checks(gateway_context& context, const connection& link,
                               const login_request& request);

// Counts one login request by app and result code and times it, whatever
// path the request takes (native or SDK): recorded when it goes out of scope.
struct login_timer {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::uint32_t sdkappid = 0;
  errc result = errc::internal_error;
  ~login_timer();
};

struct admission {
  errc code = errc::ok;
  active_login login;
};

// Admits a checked login under the user's registry. On success the caller
// answers the client first, then calls link.finish_login(login), so that a
// kick that raced ahead of the answer is delivered after it.
boost::asio::awaitable<admission> admit_login(std::shared_ptr<connection> link,
                                              gateway_context& context, login_request request,
                                              std::int64_t sig_expires_at_ms);

// Takes the link's current instance offline (the link must hold a login):
// clears it, logs and counts the logout. 2024 means a kick won the race and
// its notice is on its way; 70500 that the actors did not answer (the
// instance is still believed online).
boost::asio::awaitable<errc> logout_instance(std::shared_ptr<connection> link,
                                             gateway_context& context,
                                             metrics::logout_reason reason);

boost::asio::awaitable<outcome<errc>> ask_logout(session_service& sessions, session_handle session);
boost::asio::awaitable<outcome<errc>> ask_renew(session_service& sessions, session_handle session,
                                                std::int64_t until);
// What a client is told when the actors did not answer: 70500.
errc code_of(ask_error error);

}  // namespace chatd
