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

// A login request whose credentials have been checked (ok or not).
struct checked_login {
  errc code = errc::ok;
  login_request request;
  std::int64_t sig_expires_at_ms = 0;
};

// What differs between the native protocol and the Tencent SDK's in a
// login: how the credentials are read and checked, and how each outcome is
// answered. Everything else is run_login's.
class login_dialect {
 public:
  virtual ~login_dialect() = default;
  // The app the request names, for the metrics, before any check.
  virtual std::uint32_t claimed_sdkappid() const = 0;
  virtual checked_login check() = 0;
  // The connection already carries an instance: a repeat login.
  virtual void answer_repeat(const active_login& current) = 0;
  virtual void answer_refused(errc code) = 0;
  // The instance is admitted; sdkStateReady (or its SDK equivalent) too.
  virtual void answer_admitted(const active_login& login) = 0;
  // The instance is ready on the link: start delivering its timeline.
  virtual void start_delivery(const std::shared_ptr<connection>& link,
                              const login_request& request) = 0;
};

// The one login flow of both protocols: repeat and in-flight checks, the
// dialect's credential checks, admission by the user's registry, the
// answer, then any kick that raced ahead. Counted and timed (login_timer).
boost::asio::awaitable<void> run_login(std::shared_ptr<connection> link, gateway_context& context,
                                       login_dialect& dialect);

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
