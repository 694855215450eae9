#include "gateway/sdk_ops.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <array>

#include "gateway/actor_ask.hpp"
#include "gateway/connection.hpp"
#include "gateway/coroutine_errors.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/login_flow.hpp"
#include "gateway/message_flow.hpp"
#include "metrics/metrics.hpp"
#include "protocol/a2.hpp"
#include "protocol/json_number.hpp"
#include "protocol/sdk_frame.hpp"
#include "store/message_store.hpp"

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
    return sdkappid_field(call_.request.head, "sdkappid");
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

  // Live entries wait until the SDK syncs (sdk_getmsg): its offline
  // messages come first, in one getmsg page.
  void start_delivery(const std::shared_ptr<connection>& link, const login_request&) override {
    link->timeline().begin_sync();
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

// --- messages (TENCENT-SDK-MESSAGING) ---------------------------------------

// How long after the login getmsg the "sync now" notify is pushed: sent in
// the same tick, the SDK would sync before storing the cookie (§3).
constexpr auto notify_delay = std::chrono::milliseconds(60);
constexpr std::string_view sync_cookie = "chatd";

std::string body_string(const json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t body_integer(const json::object& body, std::string_view key, std::int64_t fallback) {
  const auto* v = body.if_contains(key);
  return (v != nullptr ? exact_integer(*v) : std::nullopt).value_or(fallback);
}

// openim.sendmsg, as the SDK sends it (MESSAGING §1); only text elements.
std::variant<outgoing_message, errc> read_sendmsg(const json::object& body,
                                                  const active_login& login) {
  outgoing_message out;
  out.sending_instance = login.instance_id;
  auto& m = out.message;
  m.sdkappid = login.sdkappid;
  m.from = login.user_id;
  m.to = body_string(body, "To_Account");
  const auto* elements = body.if_contains("MsgBody");
  auto text = elements ? sdk::text_of_msg_body(*elements) : std::nullopt;
  if (!text)
    return errc::text_invalid;
  m.text = std::move(*text);
  m.client_seq =
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, body_integer(body, "MsgSeq", 0)));
  m.random = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(body_integer(body, "MsgRandom", 0), 0, 99'999'999));
  m.client_time_s = body_integer(body, "MsgClientTime", 0);
  m.client_msg_id = sdk::tiny_id(m.sdkappid, m.from) + '-' + std::to_string(m.client_time_s) + '-' +
                    std::to_string(m.random);
  return out;
}

asio::awaitable<void> sdk_sendmsg(sdk_call& call) {
  const auto* login = call.link->login() ? &*call.link->login() : nullptr;
  auto request = login ? read_sendmsg(call.request.body, *login)
                       : std::variant<outgoing_message, errc>(errc::not_logged_in);
  const auto sent = co_await send_message(*call.context, std::move(request));
  if (sent.code != errc::ok) {
    call.reply(sent.code);
    co_return;
  }
  const auto& m = *sent.entries.recipient.message;
  call.reply(errc::ok,
             {{"MsgTime", m.time_ms / 1000}, {"MsgSeq", m.client_seq}, {"MsgKey", m.message_id}});
}

json::object sync_reply(json::array items) {
  return {{"Cookie", sync_cookie}, {"SyncFlag", 2}, {"MsgList", std::move(items)}};
}

// The first page of a sync goes into the getmsg reply; more go as pushes.
sync_page_handler getmsg_pages(sdk_call& call) {
  return [&call](std::span<const timeline_entry> page, bool first) {
    if (!first) {
      call.link->deliver_entries(page);
      return;
    }
    json::array items;
    for (const auto& entry : page) {
      items.push_back(sdk::message_item(entry));
      call.link->record_delivered(entry);
    }
    call.reply(errc::ok, sync_reply(std::move(items)));
  };
}

// The login's getmsg never fires MESSAGE_RECEIVED (MESSAGING §3): answer it
// empty, then tell the SDK to sync, which it does with IsOnlineSync 1 and
// shows what that page holds.
asio::awaitable<void> notify_after_login_sync(sdk_call& call) {
  call.reply(errc::ok, sync_reply({}));
  const auto attempt = call.link->login_attempt();
  asio::steady_timer timer(co_await asio::this_coro::executor, notify_delay);
  co_await timer.async_wait(asio::use_awaitable);
  if (call.link->login() && call.link->login_attempt() == attempt && !call.link->closing())
    call.link->send(sdk::encode_sync_notify(call.link->next_push_seq()));
}

asio::awaitable<void> sdk_getmsg(sdk_call& call) {
  if (!call.link->login()) {
    call.reply(errc::ok);  // no cookie: the SDK stops
    co_return;
  }
  const bool online_sync = body_integer(call.request.body, "IsOnlineSync", 0) == 1;
  if (!online_sync && body_string(call.request.body, "Cookie").empty()) {
    co_await notify_after_login_sync(call);
    co_return;
  }
  if (!call.link->timeline().claim_sync()) {
    call.reply(errc::ok, sync_reply({}));  // synced already: live pushes carry the rest
    co_return;
  }
  co_await sync_timeline(call.link, std::nullopt, getmsg_pages(call));
}

// getMessageList: one conversation, older pages by the cursor in MsgKey
// (the owner's seq of the oldest entry returned); GetDirection 1 (after a
// reconnect) reads what is newer than LastMsgTime.
conversation_query roaming_query(const json::object& body, const active_login& login) {
  conversation_query q;
  q.sdkappid = login.sdkappid;
  q.owner = login.user_id;
  q.peer = body_string(body, "Peer_Account");
  q.max_count =
      static_cast<std::size_t>(std::clamp<std::int64_t>(body_integer(body, "MaxCnt", 15), 1, 100)) +
      1;
  const auto last_time_s = body_integer(body, "LastMsgTime", 0);
  if (body_integer(body, "GetDirection", 0) == 1) {
    q.newest_first = false;
    q.min_time_ms = last_time_s * 1000;
    return q;
  }
  if (last_time_s > 0)
    q.max_time_ms = last_time_s * 1000 + 999;
  const auto cursor = body_string(body, "MsgKey");
  if (!cursor.empty() && cursor.find_first_not_of("0123456789") == std::string::npos)
    q.below_seq = std::strtoull(cursor.c_str(), nullptr, 10);
  return q;
}

asio::awaitable<void> sdk_getroammsg(sdk_call& call) {
  if (!call.link->login()) {
    call.reply(errc::not_logged_in);
    co_return;
  }
  auto query = roaming_query(call.request.body, *call.link->login());
  const auto wanted = query.max_count - 1;
  const bool older = query.newest_first;
  auto read = co_await read_conversation(call.context->messages, std::move(query));
  if (!read.ok()) {
    call.reply(code_of(read.error));
    co_return;
  }
  auto& entries = read.value;
  const bool complete = entries.size() <= wanted;
  if (!complete)
    entries.resize(wanted);
  if (older)
    std::reverse(entries.begin(), entries.end());  // the SDK wants oldest first
  json::array items;
  for (const auto& entry : entries)
    items.push_back(sdk::message_item(entry));
  const auto* oldest = entries.empty() ? nullptr : &entries.front();
  call.reply(errc::ok, {{"Complete", complete ? 1 : 0},
                        {"MsgList", std::move(items)},
                        {"LastMsgTime", oldest ? oldest->message->time_ms / 1000 : 0},
                        {"MsgKey", oldest ? std::to_string(oldest->seq) : ""}});
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
    sdk_entry{"openim.sendmsg", sdk_sendmsg},
    sdk_entry{"openim.getmsg", sdk_getmsg},
    sdk_entry{"openim.getroammsg", sdk_getroammsg},
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
