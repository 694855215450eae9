#include "gateway/sdk_ops.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/json.hpp>

#include <array>

#include "gateway/connection.hpp"
#include "gateway/coroutine_errors.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/login_flow.hpp"
#include "metrics/metrics.hpp"
#include "protocol/a2.hpp"
#include "protocol/sdk_frame.hpp"

namespace chatd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// The SDK sends wshello this often while logged in (seconds).
constexpr int hello_interval_s = 120;

struct sdk_call {
  std::shared_ptr<connection> link;
  std::shared_ptr<gateway_context> context;
  sdk::request request;
  connection::op_token token;  // while the op runs

  // Every reply goes through here: once the instance's sig has expired, the
  // next reply says 70001, which the SDK turns into KICKED_OUT userSigExpired.
  void reply(errc code, json::object fields = {}, std::string_view info = {}) const {
    if (code == errc::ok && link->sig_expired_unreported()) {
      link->sig_expiry_reported();
      code = errc::usersig_expired;
      fields = {};
    }
    link->send(sdk::encode_reply(request, code, std::move(fields), info));
  }
};

using sdk_handler = asio::awaitable<void> (*)(sdk_call&);

std::string head_string(const json::object& head, std::string_view key) {
  const auto* v = head.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::object login_fields(const active_login& login, const app_config& app) {
  const auto a2 =
      a2::issue({login.sdkappid, login.user_id, wall_clock_ms() / 1000, login.sig_expires_at_ms},
                app.secret_key);
  return {{"A2Key", a2},
          {"TinyId", sdk::tiny_id(login.sdkappid, login.user_id)},
          {"InstId", std::strtoull(login.instance_id.c_str(), nullptr, 10)},
          {"HelloInterval", hello_interval_s},
          {"TimeStamp", wall_clock_ms() / 1000}};
}

checked_login check_usersig_login(sdk_call& call) {
  const auto& head = call.request.head;
  json::object fields;
  if (const auto* id = head.if_contains("sdkappid"))
    fields["SDKAppID"] = *id;
  if (auto user = head_string(head, "identifier"); !user.empty())
    fields["userID"] = user;
  if (const auto* sig = head.if_contains("usersig"); sig != nullptr && sig->is_string())
    fields["userSig"] = *sig;
  fields["platform"] = platform_name(sdk::platform_of(head));
  auto parsed = parse_login_request(fields);
  if (auto* code = std::get_if<errc>(&parsed))
    return {*code, {}, 0};
  auto request = std::get<login_request>(parsed);
  auto verdict = run_login_checks(*call.context, *call.link, request);
  return {verdict.code, std::move(request), sig_expiry_ms(verdict.claims)};
}

checked_login check_a2_login(sdk_call& call, const std::string& token) {
  auto& backend = call.context->backend;
  const auto sdkappid = a2::sdkappid_of(token);
  auto app = sdkappid ? backend.find_app(*sdkappid) : nullptr;
  std::optional<a2::claims> claims;
  if (app)
    claims = a2::verify(token, app->secret_key);
  login_context context{app.get(), wall_clock_ms(), call.link->origin()};
  if (claims) {
    context.user_locked = backend.is_locked(claims->sdkappid, claims->user_id);
    context.kick_time_s = backend.kick_time_s(claims->sdkappid, claims->user_id);
  }
  const auto code = check_relogin(claims.has_value(), claims ? claims->issued_at_s : 0,
                                  claims ? claims->sig_expires_at_ms : 0, context);
  if (code != errc::ok || !claims)
    return {code, {}, 0};
  login_request request{
      claims->sdkappid, claims->user_id, {}, sdk::platform_of(call.request.head), {}};
  return {errc::ok, std::move(request), claims->sig_expires_at_ms};
}

// The SDK's side of a login: the credential is the UserSig in the head
// (first login) or the A2 we issued (re-login after a reconnect); every
// answer is a reply to wslogin, whose success is the SDK's ready.
class sdk_login_dialect final : public login_dialect {
 public:
  explicit sdk_login_dialect(sdk_call& call) : call_(call) {}

  std::uint32_t claimed_sdkappid() const override {
    const auto* id = call_.request.head.if_contains("sdkappid");
    return id != nullptr && id->is_number() ? static_cast<std::uint32_t>(id->to_number<double>())
                                            : 0;
  }

  checked_login check() override {
    const auto token = head_string(call_.request.head, "a2");
    const bool has_usersig = !head_string(call_.request.head, "usersig").empty();
    return !token.empty() && !has_usersig ? check_a2_login(call_, token)
                                          : check_usersig_login(call_);
  }

  void answer_repeat(const active_login& current) override { answer_admitted(current); }

  void answer_refused(errc code) override { call_.reply(code); }

  void answer_admitted(const active_login& login) override {
    call_.reply(errc::ok, login_fields(login, *call_.context->backend.find_app(login.sdkappid)));
  }

 private:
  sdk_call& call_;
};

asio::awaitable<void> sdk_login(sdk_call& call) {
  sdk_login_dialect dialect(call);
  co_await run_login(call.link, *call.context, dialect);
}

// Answered OK even for an unknown or kicked A2: after a kick the SDK logs
// out with the old credential, and waits for this answer.
asio::awaitable<void> sdk_logout(sdk_call& call) {
  if (call.link->login())
    co_await logout_instance(call.link, *call.context, metrics::logout_reason::logout);
  call.reply(errc::ok);
}

asio::awaitable<void> sdk_ok(sdk_call& call) {
  if (sdk::is_telemetry(call.request.servcmd))
    spdlog::debug("sdk telemetry {}", call.request.servcmd);
  call.reply(errc::ok);
  co_return;
}

// Paging commands loop forever unless told they are done.
asio::awaitable<void> sdk_black_list(sdk_call& call) {
  call.reply(errc::ok, {{"StartIndex", 0}, {"CurruentSequence", 0}});
  co_return;
}

asio::awaitable<void> sdk_recent_contacts(sdk_call& call) {
  call.reply(
      errc::ok,
      {{"CompleteFlag", 1}, {"TimeStamp", 0}, {"StartIndex", 0}, {"SessionItem", json::array{}}});
  co_return;
}

struct sdk_entry {
  std::string_view servcmd;
  sdk_handler handler;
};

constexpr std::array sdk_table{
    sdk_entry{"im_open_status.wslogin", sdk_login},
    sdk_entry{"im_open_status.wslogout", sdk_logout},
    sdk_entry{"sns.black_list_get", sdk_black_list},
    sdk_entry{"recentcontact.page_get", sdk_recent_contacts},
};

sdk_handler handler_for(std::string_view servcmd) {
  for (const auto& e : sdk_table)
    if (e.servcmd == servcmd)
      return e.handler;
  return sdk_ok;  // heartbeat.alive, wshello, and the post-login burst
}

asio::awaitable<void> run_sdk(sdk_call call, sdk_handler handler) {
  co_await handler(call);
}

}  // namespace

void dispatch_sdk_frame(const std::shared_ptr<connection>& link,
                        const std::shared_ptr<gateway_context>& context, std::string text) {
  auto request = sdk::parse(text);
  if (!request) {
    spdlog::debug("ignoring a frame that is not an SDK request");
    return;
  }
  const auto handler = handler_for(request->servcmd);
  asio::co_spawn(
      link->strand(),
      run_sdk(sdk_call{link, context, std::move(*request), connection::op_token(link)}, handler),
      log_coroutine_failure);
}

}  // namespace chatd
