#include "gateway/ops.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <array>

#include "gateway/conversation_flow.hpp"
#include "gateway/coroutine_errors.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/login_flow.hpp"
#include "gateway/message_flow.hpp"
#include "gateway/native_codec.hpp"
#include "gateway/op_table.hpp"
#include "gateway/peer.hpp"
#include "gateway/profile_flow.hpp"
#include "gateway/revoke_flow.hpp"
#include "protocol/frame.hpp"
#include "protocol/json_number.hpp"
#include "protocol/json_strings.hpp"
#include "protocol/profile_json.hpp"

namespace chatd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

struct op_call {
  std::shared_ptr<peer> self;
  frame::request request;
  connection::op_token token;  // while the op runs

  void respond(errc code, json::object data = {}) const {
    native_codec::respond(*self, request.seq, code, std::move(data));
  }
  void refuse(errc code) const { respond(code); }
  void event(std::string_view name, json::object data) const {
    native_codec::event(*self, name, std::move(data));
  }
  // For ops marked needs_login, checked before they run.
  const active_login& login() const { return *self->login(); }
};

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

// Called while the sync runs, which holds the client.
sync_page_handler events_on(peer& self) {
  return [&self](std::span<const timeline_entry> page, bool) { self.deliver_entries(page); };
}

// Live entries flow at once; with syncFromSeq (or entries that raced the
// answer) the timeline is synced first, as messageReceived events.
void start_delivery(const std::shared_ptr<peer>& self, std::optional<std::uint64_t> from) {
  auto& timeline = self->instance().timeline();
  const auto start = timeline.sync_start(from);
  if (!start)
    return;
  timeline.begin_sync();
  timeline.claim_sync();
  asio::co_spawn(self->link().strand(), sync_timeline(self, start, events_on(*self)),
                 log_coroutine_failure);
}

// The answer, then sdkStateReady, then (finish_login) a kick that raced ahead.
asio::awaitable<void> op_login(op_call& call) {
  auto credentials =
      read_usersig_login(call.request.data, sdkappid_field(call.request.data, "SDKAppID"));
  auto result = co_await log_in(call.self, std::move(credentials));
  if (result.repeat) {
    auto data = login_data(result.login, true);
    const auto info = "repeat login: already logged in as " + result.login.user_id;
    data["errorInfo"] = info;
    native_codec::respond(*call.self, call.request.seq, errc::ok, std::move(data), info);
    co_return;
  }
  if (result.code != errc::ok) {
    call.respond(result.code);
    co_return;
  }
  call.respond(errc::ok, login_data(result.login, false));
  native_codec::ready(*call.self, result.login);
  // A resume point past the timeline's head (a reset store, another
  // server) syncs from the head, as the client is told to: a sync from
  // beyond it would pass over live entries that arrive meanwhile.
  auto from = result.sync_from_seq;
  if (from && result.login.timeline_head)
    from = std::min(*from, *result.login.timeline_head);
  call.self->finish_login(std::move(result.login));
  if (call.self->login())
    start_delivery(call.self, from);
}

// Takes this client's instance offline; else kicked meanwhile (its
// kickedOut is on its way) or the actors did not answer.
asio::awaitable<errc> logout_current(op_call& call, metrics::logout_reason reason) {
  const auto code = co_await log_out(call.self, reason);
  if (code == errc::ok)
    call.event("sdkStateNotReady", {{"reason", code_number(errc::logged_out)}});
  co_return code;
}

asio::awaitable<void> op_logout(op_call& call) {
  call.respond(co_await logout_current(call, metrics::logout_reason::logout));
}

asio::awaitable<void> op_destroy(op_call& call) {
  if (call.self->login())
    co_await logout_current(call, metrics::logout_reason::destroy);
  call.respond(errc::ok);
  call.self->link().close(1000, "destroyed");
}

asio::awaitable<void> op_renew_user_sig(op_call& call) {
  const auto current = call.login();
  const auto* sig = call.request.data.if_contains("userSig");
  if (sig == nullptr || sig->is_null() || !sig->is_string()) {
    call.respond(sig == nullptr || sig->is_null() ? errc::no_usersig : errc::usersig_malformed);
    co_return;
  }
  login_request request{
      current.sdkappid, current.user_id, std::string(sig->get_string()), current.platform, {}};
  auto& context = call.self->context();
  const auto app = context.backend.find_app(current.sdkappid);
  const auto verdict = check_usersig(context, *call.self, request, app.get());
  if (verdict.code != errc::ok) {
    call.respond(verdict.code);
    co_return;
  }
  const auto until = sig_expiry_ms(verdict.claims);
  const auto answer = co_await ask_renew(context.sessions, current.session, until);
  const auto code = answer.ok() ? answer.value : errc::internal_error;
  if (code == errc::ok)
    call.self->instance().set_sig_expiry(until);
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
  if (const auto code = frame::read_message_content(data, m); code != errc::ok)
    return code;
  if (const auto* id = data.if_contains("clientMsgID"); id != nullptr && !id->is_null()) {
    if (!id->is_string() || id->get_string().size() > max_client_msg_id_bytes)
      return errc::invalid_parameter;
    m.client_msg_id = std::string(id->get_string());
  }
  return out;
}

// Answered once the message is durable in both timelines (CONTRACT §2c).
asio::awaitable<void> op_send_message(op_call& call) {
  const auto sent =
      co_await send_message(call.self->context(), read_send(call.request.data, call.login()));
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
  const auto& login = call.self->login();
  call.respond(errc::ok, {{"userID", login ? login->user_id : ""}});
  co_return;
}

asio::awaitable<void> op_server_time(op_call& call) {
  call.respond(errc::ok, {{"serverTime", wall_clock_ms()}});
  co_return;
}

asio::awaitable<void> op_is_ready(op_call& call) {
  call.respond(errc::ok, {{"ready", call.self->login().has_value()}});
  co_return;
}

// {userIDList}: [{userID, profile: {tag: value}}] of the users who are
// accounts, in the order asked.
asio::awaitable<void> op_get_user_profile(op_call& call) {
  auto users = string_array(call.request.data.if_contains("userIDList"));
  if (!users || users->empty() || users->size() > max_profiles_per_get) {
    call.respond(errc::invalid_parameter);
    co_return;
  }
  auto read = co_await get_profiles(call.self->context(), call.login().sdkappid, std::move(*users));
  if (!read.ok()) {
    call.respond(errc::internal_error);
    co_return;
  }
  json::array profiles;
  for (const auto& answer : read.value)
    if (answer.known)
      profiles.push_back(
          json::object{{"userID", answer.user_id}, {"profile", profile_object(answer.profile)}});
  call.respond(errc::ok, {{"profiles", std::move(profiles)}});
}

// {profile: {tag: value}}: merged into the user's own profile, answered once durable.
asio::awaitable<void> op_update_my_profile(op_call& call) {
  const auto* fields = call.request.data.if_contains("profile");
  auto checked = fields ? read_profile_object(*fields) : errc::profile_value_invalid;
  if (const auto* refused = std::get_if<errc>(&checked)) {
    call.respond(*refused);
    co_return;
  }
  const auto& login = call.login();
  call.respond(co_await set_profile(call.self->context(), login.sdkappid, login.user_id,
                                    std::get<std::vector<profile_field>>(std::move(checked))));
}

// {}: the user's conversations, newest first, with their unread counts.
asio::awaitable<void> op_get_conversation_list(op_call& call) {
  const auto& login = call.login();
  auto list =
      co_await list_conversations(call.self->context().messages, login.sdkappid, login.user_id);
  if (!list.ok()) {
    call.respond(errc::internal_error);
    co_return;
  }
  const auto profiles = co_await peer_profiles(call.self->context(), login.sdkappid, list.value);
  // Up to 500 conversations of some 30 JSON values each: built in one
  // arena, freed at once (the allocator's share was larger than the build).
  json::monotonic_resource arena(64 * 1024);
  const json::storage_ptr storage(&arena);
  json::array conversations(storage);
  conversations.reserve(list.value.size());
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < list.value.size(); ++i) {
    const auto& c = list.value[i];
    total += c.unread;
    conversations.push_back(json::object({{"userID", c.peer},
                                          {"unreadCount", c.unread},
                                          {"readTime", c.read_time_ms},
                                          {"peerReadTime", c.peer_read_time_ms},
                                          {"peerProfile", profile_object(profiles[i], storage)},
                                          {"lastMessage", frame::message_data(c.last, storage)}},
                                         storage));
  }
  json::object data(storage);
  data["conversations"] = std::move(conversations);
  data["totalUnreadCount"] = total;
  call.respond(errc::ok, std::move(data));
}

// {userID, readTime (ms, optional: now)}: the conversation read up to then.
asio::awaitable<void> op_set_message_read(op_call& call) {
  const auto* peer = call.request.data.if_contains("userID");
  if (peer == nullptr || !peer->is_string() || !is_valid_user_id(peer->get_string())) {
    call.respond(errc::invalid_parameter);
    co_return;
  }
  std::int64_t up_to_ms = INT64_MAX;
  if (const auto* t = call.request.data.if_contains("readTime"); t != nullptr) {
    const auto ms = exact_integer(*t);
    if (!ms || *ms <= 0) {
      call.respond(errc::invalid_parameter);
      co_return;
    }
    up_to_ms = *ms;
  }
  const auto& login = call.login();
  const auto mark =
      co_await mark_conversation_read(call.self->context(), login.sdkappid, login.user_id,
                                      std::string(peer->get_string()), up_to_ms, login.instance_id);
  if (!mark) {
    call.respond(errc::internal_error);
    co_return;
  }
  call.respond(errc::ok, {{"unreadCount", mark->unread}, {"readTime", mark->read_time_ms}});
}

// {to, messageID}: the user's own message to `to`, within the app's window.
asio::awaitable<void> op_revoke_message(op_call& call) {
  const auto* to = call.request.data.if_contains("to");
  const auto* id = call.request.data.if_contains("messageID");
  if (to == nullptr || !to->is_string() || id == nullptr || !id->is_string()) {
    call.respond(errc::invalid_parameter);
    co_return;
  }
  const auto& login = call.login();
  // Named, not a braced temporary in the co_await: GCC 12 frees those twice.
  revoke_request request{login.sdkappid,
                         login.user_id,
                         std::string(to->get_string()),
                         std::string(id->get_string()),
                         true,
                         login.instance_id};
  call.respond(co_await revoke_message(call.self->context(), std::move(request)));
}

constexpr std::array<op_row<op_call>, 14> op_table{{
    {"login", op_login, false},
    {"logout", op_logout, true},
    {"getLoginUser", op_get_login_user, false},
    {"getServerTime", op_server_time, false},
    {"isReady", op_is_ready, false},
    {"destroy", op_destroy, false},
    {"ping", op_server_time, false},
    {"renewUserSig", op_renew_user_sig, true},
    {"sendMessage", op_send_message, true},
    {"getUserProfile", op_get_user_profile, true},
    {"updateMyProfile", op_update_my_profile, true},
    {"getConversationList", op_get_conversation_list, true},
    {"setMessageRead", op_set_message_read, true},
    {"revokeMessage", op_revoke_message, true},
}};

}  // namespace

void run_native_op(const std::shared_ptr<peer>& self, std::string text) {
  auto parsed = frame::parse_request(text);
  if (auto* rejected = std::get_if<frame::rejection>(&parsed)) {
    native_codec::respond(*self, rejected->seq, rejected->code);
    return;
  }
  auto& request = std::get<frame::request>(parsed);
  const auto* op = find_op<op_call>(op_table, request.op);
  if (op == nullptr) {
    native_codec::respond(*self, request.seq, errc::invalid_operation);
    return;
  }
  spawn_op(op_call{self, std::move(request), connection::op_token(self->link().shared_from_this())},
           *op);
}

}  // namespace chatd
