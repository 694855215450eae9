#include "gateway/ops.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <array>

#include "gateway/connection.hpp"
#include "gateway/coroutine_errors.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/login_flow.hpp"
#include "gateway/message_flow.hpp"
#include "metrics/metrics.hpp"
#include "protocol/frame.hpp"
#include "protocol/json_number.hpp"
#include "protocol/login_request.hpp"

namespace chatd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

struct op_call {
  std::shared_ptr<connection> link;
  std::shared_ptr<gateway_context> context;
  frame::request request;
  connection::op_token token;  // while the op runs

  void respond(errc code, json::object data = {}) const {
    link->send(frame::encode_response(request.seq, code, std::move(data)));
  }
  void event(std::string_view name, json::object data) const {
    link->send(frame::encode_event(name, std::move(data)));
  }
  session_service& sessions() const { return context->sessions; }
};

using op_handler = asio::awaitable<void> (*)(op_call&);

json::object login_data(const active_login& login, bool repeat) {
  json::object data{{"userID", login.user_id},
                    {"instanceID", login.instance_id},
                    {"platform", platform_name(login.platform)},
                    {"serverTime", wall_clock_ms()},
                    {"sigExpireAt", login.sig_expires_at_ms},
                    {"repeatLogin", repeat}};
  if (login.timeline_head)
    data["timelineHead"] = *login.timeline_head;
  return data;
}

// Called while the sync runs, which holds the connection.
sync_page_handler events_on(connection& link) {
  return [&link](std::span<const timeline_entry> page, bool) { link.deliver_entries(page); };
}

// The native protocol's side of a login: credentials in `data`, answers as
// response frames, readiness as the sdkStateReady event.
class native_login final : public login_dialect {
 public:
  explicit native_login(const op_call& call) : call_(call) {}

  std::uint32_t claimed_sdkappid() const override {
    return sdkappid_field(call_.request.data, "SDKAppID");
  }

  checked_login check() override {
    auto parsed = parse_login_request(call_.request.data);
    if (auto* code = std::get_if<errc>(&parsed))
      return {*code, {}, 0};
    auto& request = std::get<login_request>(parsed);
    auto verdict = run_login_checks(*call_.context, *call_.link, request);
    return {verdict.code, std::move(request), sig_expiry_ms(verdict.claims)};
  }

  void answer_repeat(const active_login& current) override {
    auto data = login_data(current, true);
    const auto info = "repeat login: already logged in as " + current.user_id;
    data["errorInfo"] = info;
    call_.link->send(frame::encode_response(call_.request.seq, errc::ok, info, std::move(data)));
  }

  void answer_refused(errc code) override { call_.respond(code); }

  void answer_admitted(const active_login& login) override {
    call_.respond(errc::ok, login_data(login, false));
    call_.event("sdkStateReady", {{"userID", login.user_id}, {"instanceID", login.instance_id}});
  }

  // Live entries flow at once; with syncFromSeq (or entries that raced the
  // answer) the timeline is synced first, as messageReceived events.
  void start_delivery(const std::shared_ptr<connection>& link,
                      const login_request& request) override {
    const auto start = link->timeline().sync_start(request.sync_from_seq);
    if (!start)
      return;
    link->timeline().begin_sync();
    link->timeline().claim_sync();
    asio::co_spawn(link->strand(), sync_timeline(link, start, events_on(*link)),
                   log_coroutine_failure);
  }

 private:
  const op_call& call_;
};

asio::awaitable<void> op_login(op_call& call) {
  native_login dialect(call);
  co_await run_login(call.link, *call.context, dialect);
}

// Takes this connection's instance offline; false if it was no longer online.
asio::awaitable<errc> logout_current(op_call& call, metrics::logout_reason reason) {
  const auto code = co_await logout_instance(call.link, *call.context, reason);
  if (code == errc::ok)
    call.event("sdkStateNotReady", {{"reason", code_number(errc::logged_out)}});
  co_return code;  // else: kicked meanwhile, its kickedOut is on its way
}

asio::awaitable<void> op_logout(op_call& call) {
  if (!call.link->login()) {
    call.respond(errc::not_logged_in);
    co_return;
  }
  call.respond(co_await logout_current(call, metrics::logout_reason::logout));
}

asio::awaitable<void> op_destroy(op_call& call) {
  if (call.link->login())
    co_await logout_current(call, metrics::logout_reason::destroy);
  call.respond(errc::ok);
  call.link->close(1000, "destroyed");
}

asio::awaitable<void> op_renew_user_sig(op_call& call) {
  auto& link = *call.link;
  if (!link.login()) {
    call.respond(errc::not_logged_in);
    co_return;
  }
  const auto current = *link.login();
  const auto* sig = call.request.data.if_contains("userSig");
  if (sig == nullptr || sig->is_null() || !sig->is_string()) {
    call.respond(sig == nullptr || sig->is_null() ? errc::no_usersig : errc::usersig_malformed);
    co_return;
  }
  login_request request{
      current.sdkappid, current.user_id, std::string(sig->get_string()), current.platform, {}};
  auto verdict = run_login_checks(*call.context, link, request);
  if (verdict.code != errc::ok) {
    call.respond(verdict.code);
    co_return;
  }
  const auto until = sig_expiry_ms(verdict.claims);
  const auto answer = co_await ask_renew(call.sessions(), current.session, until);
  const auto code = answer.ok() ? answer.value : code_of(answer.error);
  if (code == errc::ok)
    link.set_sig_expiry(until);
  call.respond(code, code == errc::ok ? json::object{{"sigExpireAt", until}} : json::object{});
}

// The sendMessage request, checked; the recipient is checked by send_message.
std::variant<outgoing_message, errc> read_send(const json::object& data,
                                               const active_login& login) {
  outgoing_message out;
  out.sending_instance = login.instance_id;
  auto& m = out.message;
  m.sdkappid = login.sdkappid;
  m.from = login.user_id;
  const auto* to = data.if_contains("to");
  if (to == nullptr || !to->is_string())
    return errc::recipient_invalid;
  m.to = std::string(to->get_string());
  const auto* text = data.if_contains("text");
  if (text == nullptr || !text->is_string())
    return errc::text_invalid;
  m.text = std::string(text->get_string());
  if (const auto* id = data.if_contains("clientMsgID"); id != nullptr && !id->is_null()) {
    if (!id->is_string() || id->get_string().size() > max_client_msg_id_bytes)
      return errc::invalid_parameter;
    m.client_msg_id = std::string(id->get_string());
  }
  return out;
}

// Answered once the message is durable in both timelines (CONTRACT §2c).
asio::awaitable<void> op_send_message(op_call& call) {
  const auto* login = call.link->login() ? &*call.link->login() : nullptr;
  auto request = login ? read_send(call.request.data, *login)
                       : std::variant<outgoing_message, errc>(errc::not_logged_in);
  const auto sent = co_await send_message(*call.context, std::move(request));
  if (sent.code != errc::ok) {
    call.respond(sent.code);
    co_return;
  }
  // `seq` is the recipient's timeline's (as before); `senderSeq` the
  // sender's own copy's, which a client resuming its own timeline needs.
  const auto& entry = sent.entries.recipient;
  json::object answer{{"messageID", entry.message->message_id},
                      {"seq", entry.seq},
                      {"time", entry.message->time_ms}};
  if (sent.entries.sender)
    answer["senderSeq"] = sent.entries.sender->seq;
  call.respond(errc::ok, std::move(answer));
}

asio::awaitable<void> op_get_login_user(op_call& call) {
  const auto& login = call.link->login();
  call.respond(errc::ok, {{"userID", login ? login->user_id : ""}});
  co_return;
}

asio::awaitable<void> op_server_time(op_call& call) {
  call.respond(errc::ok, {{"serverTime", wall_clock_ms()}});
  co_return;
}

asio::awaitable<void> op_is_ready(op_call& call) {
  call.respond(errc::ok, {{"ready", call.link->login().has_value()}});
  co_return;
}

struct op_entry {
  std::string_view name;
  op_handler handler;
};

constexpr std::array op_table{
    op_entry{"login", op_login},
    op_entry{"logout", op_logout},
    op_entry{"getLoginUser", op_get_login_user},
    op_entry{"getServerTime", op_server_time},
    op_entry{"isReady", op_is_ready},
    op_entry{"destroy", op_destroy},
    op_entry{"ping", op_server_time},
    op_entry{"renewUserSig", op_renew_user_sig},
    op_entry{"sendMessage", op_send_message},
};

op_handler find_op(std::string_view name) {
  for (const auto& entry : op_table)
    if (entry.name == name)
      return entry.handler;
  return nullptr;
}

asio::awaitable<void> run_op(op_call call, op_handler handler) {
  co_await handler(call);
}

}  // namespace

void dispatch_frame(const std::shared_ptr<connection>& link,
                    const std::shared_ptr<gateway_context>& context, std::string text) {
  auto parsed = frame::parse_request(text);
  if (auto* rejected = std::get_if<frame::rejection>(&parsed)) {
    link->send(frame::encode_response(rejected->seq, rejected->code));
    return;
  }
  auto& request = std::get<frame::request>(parsed);
  auto handler = find_op(request.op);
  if (handler == nullptr) {
    link->send(frame::encode_response(request.seq, errc::invalid_operation));
    return;
  }
  asio::co_spawn(
      link->strand(),
      run_op(op_call{link, context, std::move(request), connection::op_token(link)}, handler),
      log_coroutine_failure);
}

namespace {

void take_offline(connection& link, gateway_context& context, metrics::logout_reason reason) {
  const auto& login = link.login();
  if (!login)
    return;
  spdlog::debug(
      "logout app={} user={} platform={} instance={} ({})", login->sdkappid, login->user_id,
      platform_name(login->platform), login->instance_id,
      reason == metrics::logout_reason::shutdown ? "server shutdown" : "connection closed");
  // Counted only if it was still online: a kick may have won the race.
  context.sessions.logout(login->session,
                          reply<errc>::to([app = login->sdkappid, reason](outcome<errc> answer) {
                            if (answer.ok() && answer.value == errc::ok)
                              metrics::logged_out(app, reason);
                          }));
  link.clear_login();
}

}  // namespace

void release_connection(connection& link, gateway_context& context) {
  take_offline(link, context, metrics::logout_reason::disconnect);
}

}  // namespace chatd

namespace chatd {

void drain_connection(connection& link, gateway_context& context) {
  if (link.login()) {
    if (link.dialect() == wire_dialect::native)
      link.send(
          frame::encode_event("sdkStateNotReady", {{"reason", code_number(errc::logged_out)}}));
    take_offline(link, context, metrics::logout_reason::shutdown);
  }
  link.close(1001, "server shutting down");
}

}  // namespace chatd
