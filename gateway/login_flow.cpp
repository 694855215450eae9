#include "gateway/login_flow.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/actor_ask.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/login_failures.hpp"
#include "gateway/message_flow.hpp"
#include "metrics/metrics.hpp"

namespace chatd {
namespace asio = boost::asio;

namespace {

// Every refused login of the process, logged by kind (login_failures.hpp).
login_failure_log& refused_logins() {
  static login_failure_log log;
  return log;
}

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

}  // namespace

errc code_of(ask_error error) {
  return error == ask_error::none ? errc::ok : errc::internal_error;
}

login_timer::~login_timer() {
  metrics::login_finished(sdkappid, result, std::chrono::steady_clock::now() - started);
}

std::int64_t sig_expiry_ms(const usersig::claims& claims) {
  return (claims.last_valid_second() + 1) * 1000;
}

login_verdict run_login_checks(gateway_context& context, const connection& link,
                               const login_request& request) {
  auto& backend = context.backend;
  auto app = backend.find_app(request.sdkappid);
  login_context checks{app.get(), wall_clock_ms(), link.origin()};
  if (app) {
    checks.user_locked = backend.is_locked(request.sdkappid, request.user_id);
    checks.kick_time_s = backend.kick_time_s(request.sdkappid, request.user_id);
  }
  auto verdict = check_login(request, checks);
  if (counts_as_failed_verification(verdict.code))
    backend.record_failure(request.sdkappid, request.user_id);
  return verdict;
}

namespace {

struct admission {
  errc code = errc::ok;
  active_login login;
};

// Admits a checked login under the user's registry. On success the caller
// answers the client first, then calls link.finish_login(login), so that a
// kick that raced ahead of the answer is delivered after it.
asio::awaitable<admission> admit_login(std::shared_ptr<connection> link, gateway_context& context,
                                       login_request request, std::int64_t sig_expires_at_ms) {
  auto app = context.backend.find_app(request.sdkappid);
  if (!app)
    co_return admission{errc::sdkappid_not_found, {}};
  login_order order{request.sdkappid, request.user_id,   request.platform,    request.device_name,
                    app->limits,      sig_expires_at_ms, link->begin_login(), {}};
  auto answer = co_await ask_login(context.sessions, std::move(order));
  auto& grant = answer.value;
  if (!answer.ok() || grant.code != errc::ok || link->closing()) {
    link->fail_login();
    if (!answer.ok())
      spdlog::error("login app={} user={}: the actors did not answer ({})", request.sdkappid,
                    request.user_id, answer.error == ask_error::timeout ? "timeout" : "gone");
    release_late_grant(context.sessions, std::move(grant));
    co_return admission{!answer.ok() || grant.code == errc::ok ? errc::internal_error : grant.code,
                        {}};
  }
  // Successful logins are counted by the metrics; one line each only at debug.
  spdlog::debug("login app={} user={} platform={} instance={}", request.sdkappid, request.user_id,
                platform_name(request.platform), grant.instance_id);
  context.backend.record_login(request.sdkappid, request.user_id);
  co_return admission{errc::ok, active_login{request.sdkappid, request.user_id, grant.instance_id,
                                             request.platform, sig_expires_at_ms, grant.session}};
}

// The flow proper; `timer` records its outcome.
asio::awaitable<void> login_steps(std::shared_ptr<connection> link, gateway_context& context,
                                  login_dialect& dialect, login_timer& timer) {
  if (const auto& current = link->login()) {
    timer.result = errc::ok;
    dialect.answer_repeat(*current);
    co_return;
  }
  if (link->login_in_flight()) {
    dialect.answer_refused(timer.result = errc::repeat_login);
    co_return;
  }
  // Before the UserSig is verified: an address's attempts cost it nothing
  // once over its budget.
  if (!link->address().admit_login(context.settings.max_logins_per_address_per_s,
                                   connection::steady_ms())) {
    metrics::connection_failed(metrics::connection_error::address_login_rate);
    dialect.answer_refused(timer.result = errc::too_many_requests);
    co_return;
  }
  auto checked = dialect.check();
  if (checked.request.sdkappid != 0)
    timer.sdkappid = checked.request.sdkappid;
  if (checked.code != errc::ok) {
    refused_logins().record(checked.request.sdkappid, checked.request.user_id, checked.code);
    dialect.answer_refused(timer.result = checked.code);
    co_return;
  }
  auto admitted = co_await admit_login(link, context, checked.request, checked.sig_expires_at_ms);
  if (admitted.code != errc::ok) {
    refused_logins().record(checked.request.sdkappid, checked.request.user_id, admitted.code);
    dialect.answer_refused(timer.result = admitted.code);
    co_return;
  }
  // A resuming login learns its timeline's head: past it, the client's
  // resume point is from another store and would hide every new entry.
  if (checked.request.sync_from_seq) {
    const auto page = co_await read_page(context.messages, checked.request.sdkappid,
                                         checked.request.user_id, checked.request.sync_from_seq, 0);
    if (page.ok())
      admitted.login.timeline_head = page.value.head;
  }
  timer.result = errc::ok;
  dialect.answer_admitted(admitted.login);
  // After the answer and ready, so that a kick that raced ahead is delivered last.
  link->finish_login(std::move(admitted.login));
  if (link->login())
    dialect.start_delivery(link, checked.request);
}

}  // namespace

asio::awaitable<void> run_login(std::shared_ptr<connection> link, gateway_context& context,
                                login_dialect& dialect) {
  login_timer timer;
  timer.sdkappid = dialect.claimed_sdkappid();
  co_await login_steps(std::move(link), context, dialect, timer);
}

asio::awaitable<errc> logout_instance(std::shared_ptr<connection> link, gateway_context& context,
                                      metrics::logout_reason reason) {
  const auto login = *link->login();
  const auto answer = co_await ask_logout(context.sessions, login.session);
  if (!answer.ok()) {
    // Still believed online: the caller reports the failure, the client may retry.
    spdlog::error("logout app={} user={} instance={}: the actors did not answer", login.sdkappid,
                  login.user_id, login.instance_id);
    co_return errc::internal_error;
  }
  if (answer.value != errc::ok)
    co_return answer.value;  // kicked meanwhile: its notice is on its way
  if (link->login() && link->login()->instance_id == login.instance_id)
    link->clear_login();
  spdlog::debug("logout app={} user={} platform={} instance={}", login.sdkappid, login.user_id,
                platform_name(login.platform), login.instance_id);
  metrics::logged_out(login.sdkappid, reason);
  co_return errc::ok;
}

asio::awaitable<outcome<errc>> ask_logout(session_service& sessions, session_handle session) {
  return ask<errc>(
      [&sessions, session](reply<errc> done) { sessions.logout(session, std::move(done)); });
}

asio::awaitable<outcome<errc>> ask_renew(session_service& sessions, session_handle session,
                                         std::int64_t until) {
  return ask<errc>([&sessions, session, until](reply<errc> done) {
    sessions.renew(session, until, std::move(done));
  });
}

}  // namespace chatd
