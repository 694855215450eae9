#include "gateway/login_flow.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/actor_ask.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/login_failures.hpp"
#include "gateway/message_flow.hpp"
#include "gateway/peer.hpp"
#include "metrics/metrics.hpp"
#include "protocol/a2.hpp"

namespace chatd {
namespace asio = boost::asio;

namespace {

// Every refused login of the process, logged by kind (login_failures.hpp).
login_failure_log& refused_logins() {
  static login_failure_log log;
  return log;
}

// Counts one login request by app and result code and times it, whatever
// path it takes: recorded when it goes out of scope.
struct login_timer {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::uint32_t sdkappid = 0;
  errc result = errc::internal_error;
  ~login_timer() {
    metrics::login_finished(sdkappid, result, std::chrono::steady_clock::now() - started);
  }
};

// A grant that arrives after its login timed out is released at once.
void release_late_grant(session_service& sessions, login_grant grant) {
  if (grant.session)
    sessions.logout(grant.session, reply<errc>::ignored());
}

asio::awaitable<outcome<login_grant>> ask_login(session_service& sessions, login_order order) {
  auto shared = std::make_shared<login_order>(std::move(order));
  return ask<login_grant>(
      [&sessions, shared](reply<login_grant> done) {
        sessions.login(std::move(*shared), std::move(done));
      },
      [&sessions](login_grant late) { release_late_grant(sessions, std::move(late)); });
}

asio::awaitable<outcome<errc>> ask_logout(session_service& sessions, session_handle session) {
  return ask<errc>(
      [&sessions, session](reply<errc> done) { sessions.logout(session, std::move(done)); });
}

// A login whose credential has been checked (ok or not), on one snapshot
// of its app.
struct checked_login {
  errc code = errc::ok;
  login_request request;
  std::int64_t sig_expires_at_ms = 0;
  std::shared_ptr<const app_config> app;
};

login_context context_of(gateway_context& context, const peer& self, const app_config* app,
                         std::uint32_t sdkappid, const std::string& user_id) {
  login_context checks{app, wall_clock_ms(), self.link().origin()};
  if (app != nullptr) {
    checks.user_locked = context.backend.is_locked(sdkappid, user_id);
    checks.kick_time_s = context.backend.kick_time_s(sdkappid, user_id);
  }
  return checks;
}

checked_login check_a2(gateway_context& context, const peer& self, const a2_credential& a2) {
  const auto sdkappid = a2::sdkappid_of(a2.token);
  checked_login out;
  out.app = sdkappid ? context.backend.find_app(*sdkappid) : nullptr;
  std::optional<a2::claims> claims;
  if (out.app)
    claims = a2::verify(a2.token, out.app->secret_key);
  auto checks = claims ? context_of(context, self, out.app.get(), claims->sdkappid, claims->user_id)
                       : login_context{out.app.get(), wall_clock_ms(), self.link().origin()};
  out.code = check_relogin(claims.has_value(), claims ? claims->issued_at_s : 0,
                           claims ? claims->sig_expires_at_ms : 0, checks);
  if (out.code == errc::ok) {
    out.request = login_request{claims->sdkappid, claims->user_id, {}, a2.platform, {}};
    out.sig_expires_at_ms = claims->sig_expires_at_ms;
  }
  return out;
}

checked_login check(gateway_context& context, const peer& self, login_credentials credentials) {
  if (auto* refused = std::get_if<errc>(&credentials.read))
    return {*refused, {}, 0, nullptr};
  if (auto* a2 = std::get_if<a2_credential>(&credentials.read))
    return check_a2(context, self, *a2);
  checked_login out;
  out.request = std::move(std::get<login_request>(credentials.read));
  out.app = context.backend.find_app(out.request.sdkappid);
  const auto verdict = check_usersig(context, self, out.request, out.app.get());
  out.code = verdict.code;
  out.sig_expires_at_ms = sig_expiry_ms(verdict.claims);
  return out;
}

login_outcome refused(errc code) {
  login_outcome result;
  result.code = code;
  return result;
}

login_outcome granted(const checked_login& checked, const login_grant& grant) {
  const auto& request = checked.request;
  login_outcome result;
  result.login = active_login{request.sdkappid, request.user_id,           grant.instance_id,
                              request.platform, checked.sig_expires_at_ms, grant.session};
  result.app = checked.app;
  result.sync_from_seq = request.sync_from_seq;
  return result;
}

// Admits a checked login under the user's registry.
asio::awaitable<login_outcome> admit(std::shared_ptr<peer> self, const checked_login& checked) {
  auto& context = self->context();
  const auto& request = checked.request;
  login_order order{
      request.sdkappid,    request.user_id,           request.platform,    request.device_name,
      checked.app->limits, checked.sig_expires_at_ms, self->begin_login(), {}};
  auto answer = co_await ask_login(context.sessions, std::move(order));
  auto& grant = answer.value;
  if (!answer.ok() || grant.code != errc::ok || self->link().closing()) {
    self->fail_login();
    if (!answer.ok())
      spdlog::error("login app={} user={}: the actors did not answer ({})", request.sdkappid,
                    request.user_id, answer.error == ask_error::timeout ? "timeout" : "gone");
    const auto code = !answer.ok() || grant.code == errc::ok ? errc::internal_error : grant.code;
    release_late_grant(context.sessions, std::move(grant));
    co_return refused(code);
  }
  // Successful logins are counted by the metrics; one line each only at debug.
  spdlog::debug("login app={} user={} platform={} instance={}", request.sdkappid, request.user_id,
                platform_name(request.platform), grant.instance_id);
  context.backend.record_login(request.sdkappid, request.user_id);
  co_return granted(checked, grant);
}

// The flow proper; `timer` records its outcome.
asio::awaitable<login_outcome> login_steps(std::shared_ptr<peer> self,
                                           login_credentials credentials, login_timer& timer) {
  if (const auto& current = self->login()) {
    timer.result = errc::ok;
    login_outcome repeat;
    repeat.repeat = true;
    repeat.login = *current;
    co_return repeat;
  }
  if (self->instance().phase() == login_phase::in_flight)
    co_return refused(timer.result = errc::repeat_login);
  // Before the UserSig is verified: an address's attempts cost it nothing
  // once over its budget.
  auto& context = self->context();
  if (!self->link().address().admit_login(context.settings.max_logins_per_address_per_s,
                                          connection::steady_ms())) {
    metrics::connection_failed(metrics::connection_error::address_login_rate);
    co_return refused(timer.result = errc::too_many_requests);
  }
  const auto checked = check(context, *self, std::move(credentials));
  const auto& request = checked.request;
  if (request.sdkappid != 0)
    timer.sdkappid = request.sdkappid;
  login_outcome result = refused(checked.code);
  if (checked.code == errc::ok)
    result = co_await admit(self, checked);
  if (result.code != errc::ok) {
    refused_logins().record(request.sdkappid, request.user_id, result.code);
    timer.result = result.code;
    co_return result;
  }
  // A resuming login learns its timeline's head: past it, the client's
  // resume point is from another store and would hide every new entry.
  if (result.sync_from_seq) {
    const auto page = co_await read_page(context.messages, request.sdkappid, request.user_id,
                                         result.sync_from_seq, 0);
    if (page.ok())
      result.login.timeline_head = page.value.head;
  }
  timer.result = errc::ok;
  co_return result;
}

}  // namespace

login_credentials read_usersig_login(const boost::json::object& fields,
                                     std::uint32_t claimed_sdkappid) {
  auto parsed = parse_login_request(fields);
  login_credentials credentials{claimed_sdkappid, errc::ok};
  if (auto* refused = std::get_if<errc>(&parsed))
    credentials.read = *refused;
  else
    credentials.read = std::move(std::get<login_request>(parsed));
  return credentials;
}

std::int64_t sig_expiry_ms(const usersig::claims& claims) {
  return (claims.last_valid_second() + 1) * 1000;
}

login_verdict check_usersig(gateway_context& context, const peer& self,
                            const login_request& request, const app_config* app) {
  const auto checks = context_of(context, self, app, request.sdkappid, request.user_id);
  auto verdict = check_login(request, checks);
  if (counts_as_failed_verification(verdict.code))
    context.backend.record_failure(request.sdkappid, request.user_id);
  return verdict;
}

asio::awaitable<login_outcome> log_in(std::shared_ptr<peer> self, login_credentials credentials) {
  login_timer timer;
  timer.sdkappid = credentials.claimed_sdkappid;
  auto result = co_await login_steps(std::move(self), std::move(credentials), timer);
  co_return result;
}

asio::awaitable<errc> log_out(std::shared_ptr<peer> self, metrics::logout_reason reason) {
  const auto login = *self->login();
  const auto answer = co_await ask_logout(self->context().sessions, login.session);
  if (!answer.ok()) {
    // Still believed online: the caller reports the failure, the client may retry.
    spdlog::error("logout app={} user={} instance={}: the actors did not answer", login.sdkappid,
                  login.user_id, login.instance_id);
    co_return errc::internal_error;
  }
  if (answer.value != errc::ok)
    co_return answer.value;  // kicked meanwhile: its notice is on its way
  if (self->login() && self->login()->instance_id == login.instance_id)
    self->go_offline();
  spdlog::debug("logout app={} user={} platform={} instance={}", login.sdkappid, login.user_id,
                platform_name(login.platform), login.instance_id);
  metrics::logged_out(login.sdkappid, reason);
  co_return errc::ok;
}

asio::awaitable<outcome<errc>> ask_renew(session_service& sessions, session_handle session,
                                         std::int64_t until) {
  return ask<errc>([&sessions, session, until](reply<errc> done) {
    sessions.renew(session, until, std::move(done));
  });
}

}  // namespace chatd
