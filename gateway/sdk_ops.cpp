#include "gateway/sdk_ops.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <array>

#include "gateway/gateway_context.hpp"
#include "gateway/login_flow.hpp"
#include "gateway/message_flow.hpp"
#include "gateway/op_table.hpp"
#include "gateway/peer.hpp"
#include "gateway/profile_flow.hpp"
#include "gateway/revoke_flow.hpp"
#include "gateway/sdk_call.hpp"
#include "gateway/sdk_codec.hpp"
#include "metrics/metrics.hpp"
#include "protocol/a2.hpp"
#include "protocol/json_number.hpp"
#include "protocol/profile_json.hpp"
#include "protocol/sdk_frame.hpp"
#include "store/message_store.hpp"

namespace chatd {

std::int64_t body_integer(const boost::json::object& body, std::string_view key,
                          std::int64_t fallback) {
  const auto* v = body.if_contains(key);
  return (v != nullptr ? exact_integer(*v) : std::nullopt).value_or(fallback);
}

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// The SDK sends wshello this often while logged in (seconds).
constexpr int hello_interval_s = 120;

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

// The credential is the UserSig in the head (first login) or the A2 we
// issued (re-login after a reconnect).
login_credentials read_login(const json::object& head) {
  login_credentials credentials{sdkappid_field(head, "sdkappid"), errc::ok};
  const auto token = string_member(head, "a2");
  if (!token.empty() && string_member(head, "usersig").empty()) {
    credentials.read = a2_credential{token, sdk::platform_of(head)};
    return credentials;
  }
  json::object fields;
  if (const auto* id = head.if_contains("sdkappid"))
    fields["SDKAppID"] = *id;
  if (auto user = string_member(head, "identifier"); !user.empty())
    fields["userID"] = user;
  if (const auto* sig = head.if_contains("usersig"); sig != nullptr && sig->is_string())
    fields["userSig"] = *sig;
  fields["platform"] = platform_name(sdk::platform_of(head));
  return read_usersig_login(fields, credentials.claimed_sdkappid);
}

// Every answer is a reply to wslogin, whose success is the SDK's ready.
// Live entries then wait until the SDK syncs (sdk_getmsg): its offline
// messages come first, in one getmsg page.
asio::awaitable<void> sdk_login(sdk_call& call) {
  auto credentials = read_login(call.request.head);
  auto result = co_await log_in(call.self, std::move(credentials));
  if (result.code != errc::ok) {
    call.reply(result.code);
    co_return;
  }
  const auto app = result.app ? result.app : call.context().backend.find_app(result.login.sdkappid);
  call.reply(errc::ok, login_fields(result.login, *app));
  if (result.repeat)
    co_return;
  call.codec.logged_in();
  call.self->finish_login(std::move(result.login));
  if (call.self->login())
    call.self->instance().timeline().begin_sync();
}

// Answered OK even for an unknown or kicked A2: after a kick the SDK logs
// out with the old credential, and waits for this answer.
asio::awaitable<void> sdk_logout(sdk_call& call) {
  if (call.self->login())
    co_await log_out(call.self, metrics::logout_reason::logout);
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

// --- messages (TENCENT-SDK-MESSAGING) ---------------------------------------

// How long after the login getmsg the "sync now" notify is pushed: sent in
// the same tick, the SDK would sync before storing the cookie (§3).
constexpr auto notify_delay = std::chrono::milliseconds(60);
constexpr std::string_view sync_cookie = "chatd";

// openim.sendmsg, as the SDK sends it (MESSAGING §1): text or one custom
// element, stored or (MsgLifeTime 0) online only.
std::variant<outgoing_message, errc> read_sendmsg(const json::object& body,
                                                  const active_login& login) {
  outgoing_message out;
  out.sending_instance = login.instance_id;
  auto& m = out.message;
  m.sdkappid = login.sdkappid;
  m.from = login.user_id;
  m.to = string_member(body, "To_Account");
  const auto* elements = body.if_contains("MsgBody");
  if (elements == nullptr || !sdk::read_msg_body(*elements, m))
    return errc::text_invalid;
  m.online_only = sdk::is_online_only(body);
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
  const auto sent =
      co_await send_message(call.context(), read_sendmsg(call.request.body, call.login()));
  if (sent.code != errc::ok) {
    call.reply(sent.code);
    co_return;
  }
  const auto& m = *sent.entries.recipient.message;
  call.reply(errc::ok,
             {{"MsgTime", m.time_ms / 1000}, {"MsgSeq", m.client_seq}, {"MsgKey", m.message_id}});
}

// revokeMessage: MsgInfo {From_Account, To_Account, MsgSeq, MsgRandom,
// MsgTimeStamp}, whose MsgKey names the message; only the user's own.
asio::awaitable<void> sdk_msgwithdraw(sdk_call& call) {
  const auto* info = call.request.body.if_contains("MsgInfo");
  if (info == nullptr || !info->is_object()) {
    call.reply(errc::invalid_parameter);
    co_return;
  }
  const auto& o = info->get_object();
  const auto& login = call.login();
  if (string_member(o, "From_Account") != login.user_id) {
    call.reply(errc::invalid_parameter);
    co_return;
  }
  revoke_request request{login.sdkappid,
                         login.user_id,
                         string_member(o, "To_Account"),
                         message_key(static_cast<std::uint64_t>(
                                         std::max<std::int64_t>(0, body_integer(o, "MsgSeq", 0))),
                                     static_cast<std::uint32_t>(body_integer(o, "MsgRandom", 0)),
                                     body_integer(o, "MsgTimeStamp", 0)),
                         true,
                         login.instance_id};
  call.reply(co_await revoke_message(call.context(), std::move(request)));
}

// A sync's reply: its messages, and the unread count of every conversation
// that has some (C2CPairUnreadCount: the SDK takes them as the counts).
json::object sync_reply(json::array items, json::array unread = {}) {
  json::object reply{{"Cookie", sync_cookie}, {"SyncFlag", 2}, {"MsgList", std::move(items)}};
  if (!unread.empty())
    reply["C2CPairUnreadCount"] = std::move(unread);
  return reply;
}

// The first page of a sync goes into the getmsg reply; more go as pushes.
sync_page_handler getmsg_pages(sdk_call& call, json::array unread) {
  return [&call, unread = std::move(unread)](std::span<const timeline_entry> page, bool first) {
    if (!first) {
      call.self->deliver_entries(page);
      return;
    }
    json::array items;
    for (const auto& entry : page) {
      items.push_back(sdk::message_item(entry, sdk::item_use::as_sent));
      call.self->record_delivered(entry);
    }
    call.reply(errc::ok, sync_reply(std::move(items), unread));
  };
}

// The login's getmsg never fires MESSAGE_RECEIVED (MESSAGING §3): answer it
// empty, then tell the SDK to sync, which it does with IsOnlineSync 1 and
// shows what that page holds.
asio::awaitable<void> notify_after_login_sync(sdk_call& call) {
  call.reply(errc::ok, sync_reply({}, co_await pair_unread_counts(call)));
  const auto attempt = call.self->instance().attempt();
  asio::steady_timer timer(co_await asio::this_coro::executor, notify_delay);
  co_await timer.async_wait(asio::use_awaitable);
  if (call.self->login() && call.self->instance().attempt() == attempt &&
      !call.self->link().closing())
    call.codec.sync_notify(*call.self);
}

asio::awaitable<void> sdk_getmsg(sdk_call& call) {
  if (!call.self->login()) {
    call.reply(errc::ok);  // no cookie: the SDK stops
    co_return;
  }
  const bool online_sync = body_integer(call.request.body, "IsOnlineSync", 0) == 1;
  if (!online_sync && string_member(call.request.body, "Cookie").empty()) {
    co_await notify_after_login_sync(call);
    co_return;
  }
  if (!call.self->instance().timeline().claim_sync()) {
    call.reply(errc::ok, sync_reply({}));  // synced already: live pushes carry the rest
    co_return;
  }
  auto unread = co_await pair_unread_counts(call);
  if (!call.self->login())
    co_return;
  co_await sync_timeline(call.self, std::nullopt, getmsg_pages(call, std::move(unread)));
}

// getMessageList: one conversation, older pages by the cursor in MsgKey
// (the owner's seq of the oldest entry returned); GetDirection 1 (after a
// reconnect) reads what is newer than LastMsgTime.
conversation_query roaming_query(const json::object& body, const active_login& login) {
  conversation_query q;
  q.sdkappid = login.sdkappid;
  q.owner = login.user_id;
  q.peer = string_member(body, "Peer_Account");
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
  const auto cursor = string_member(body, "MsgKey");
  if (!cursor.empty() && cursor.find_first_not_of("0123456789") == std::string::npos)
    q.below_seq = std::strtoull(cursor.c_str(), nullptr, 10);
  return q;
}

asio::awaitable<void> sdk_getroammsg(sdk_call& call) {
  auto query = roaming_query(call.request.body, call.login());
  const auto wanted = query.max_count - 1;
  const bool older = query.newest_first;
  auto read = co_await read_conversation(call.context().messages, std::move(query));
  if (!read.ok()) {
    call.reply(errc::internal_error);
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
    items.push_back(sdk::message_item(entry, sdk::item_use::as_sent));
  const auto* oldest = entries.empty() ? nullptr : &entries.front();
  call.reply(errc::ok, {{"Complete", complete ? 1 : 0},
                        {"MsgList", std::move(items)},
                        {"LastMsgTime", oldest ? oldest->message->time_ms / 1000 : 0},
                        {"MsgKey", oldest ? std::to_string(oldest->seq) : ""}});
}

constexpr std::array<op_row<sdk_call>, 13> sdk_table{{
    {"im_open_status.wslogin", sdk_login, false},
    {"im_open_status.wslogout", sdk_logout, false},
    {"sns.black_list_get", sdk_black_list, false},
    {"recentcontact.page_get", sdk_recent_contacts, false},
    {"openim.sendmsg", sdk_sendmsg, true},
    {"openim.getmsg", sdk_getmsg, false},
    {"openim.getroammsg", sdk_getroammsg, true},
    {"profile.portrait_get_all", sdk_portrait_get, true},
    {"profile.portrait_set", sdk_portrait_set, true},
    {"openim.msgreaded", sdk_msg_readed, true},
    {"openim.msgwithdraw", sdk_msgwithdraw, true},
    {"openim.get_peer_read_time", sdk_peer_read_time, true},
    {"openim.get_c2c_peer_mute_notifications", sdk_peer_mute_flags, false},
}};

// heartbeat.alive, wshello, and the post-login burst: answered OK.
constexpr op_row<sdk_call> everything_else{"", sdk_ok, false};

}  // namespace

void run_sdk_op(const std::shared_ptr<peer>& self, sdk_codec& codec, std::string text) {
  auto request = sdk::parse(text);
  if (!request) {
    spdlog::debug("ignoring a frame that is not an SDK request");
    return;
  }
  const auto* row = find_op<sdk_call>(sdk_table, request->servcmd);
  spawn_op(sdk_call{self, codec, std::move(*request),
                    connection::op_token(self->link().shared_from_this())},
           row != nullptr ? *row : everything_else);
}

}  // namespace chatd
