// The conversation servcmds of the Tencent SDK protocol
// (docs/SDK-WIRE-NOTES.md, "Conversations and unread counts"): the list the
// SDK pulls after login, read marks, and peers' read times.
#include <algorithm>
#include <span>

#include "gateway/conversation_flow.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/sdk_call.hpp"
#include "protocol/login_request.hpp"

namespace chatd {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// The SDK pages the list until CompleteFlag 1, sending back StartIndex.
constexpr std::size_t page_size = 100;

std::string profile_text(const user_profile& profile, std::string_view tag) {
  const auto* value = find_field(profile, tag);
  const auto* text = value != nullptr ? std::get_if<std::string>(value) : nullptr;
  return text != nullptr ? *text : std::string();
}

// A C2C SessionItem: the peer, its last message (as getmsg shows it), the
// peer's nick and avatar, the peer's read mark (s) and the unread count.
json::object session_item(const conversation_summary& c, const user_profile& peer_profile) {
  const auto& m = *c.last.message;
  return {{"Type", 1},
          {"To_Account", c.peer},
          {"MsgTime", m.time_ms / 1000},
          {"MsgSeq", m.client_seq},
          {"MsgRandom", m.random},
          {"LastC2CMsgFromAccount", m.from},
          {"LastMsg", json::object{{"MsgBody", sdk::msg_body(m)}, {"CloudCustomData", ""}}},
          {"PeerNick", profile_text(peer_profile, "Tag_Profile_IM_Nick")},
          {"PeerAvatar", profile_text(peer_profile, "Tag_Profile_IM_Image")},
          {"C2cPeerReadTime", c.peer_read_time_ms / 1000},
          {"UnreadMsgCount", c.unread},
          {"LastMsgFlags", m.revoked ? 8 : 0},  // 8: the SDK's isRevoked
          {"TopFlags", 0}};
}

json::object complete_page(json::array items, std::size_t next_index, bool complete) {
  return {{"CompleteFlag", complete ? 1 : 0},
          {"TimeStamp", 0},
          {"StartIndex", next_index},
          {"TopTimeStamp", 0},
          {"TopStartIndex", 0},
          {"SessionItem", std::move(items)}};
}

}  // namespace

asio::awaitable<json::array> pair_unread_counts(sdk_call& call) {
  json::array pairs;
  const auto& login = call.login();
  auto counts = co_await unread_counts(call.context().messages, login.sdkappid, login.user_id);
  if (!counts.ok())
    co_return pairs;
  for (const auto& c : counts.value)
    pairs.push_back(json::object{{"From_Account", c.peer}, {"UnreadCount", c.unread}});
  co_return pairs;
}

// recentcontact.page_get, which the SDK sends by itself after login.
asio::awaitable<void> sdk_recent_contacts(sdk_call& call) {
  if (!call.self->login()) {
    call.reply(errc::ok, complete_page({}, 0, true));  // it pages until complete
    co_return;
  }
  const auto& login = call.login();
  const auto start = static_cast<std::size_t>(std::clamp<std::int64_t>(
      body_integer(call.request.body, "StartIndex", 0), 0, max_conversations));
  auto list = co_await list_conversations(call.context().messages, login.sdkappid, login.user_id,
                                          std::min(start + page_size, max_conversations));
  if (!list.ok()) {
    call.reply(errc::internal_error);
    co_return;
  }
  auto& all = list.value;
  const bool complete = all.size() < start + page_size || all.size() >= max_conversations;
  const auto page = std::span(all).subspan(std::min(start, all.size()));
  const auto profiles = co_await peer_profiles(call.context(), login.sdkappid, page);
  json::array items;
  for (std::size_t i = 0; i < page.size(); ++i)
    items.push_back(session_item(page[i], profiles[i]));
  call.reply(errc::ok, complete_page(std::move(items), all.size(), complete));
}

// setMessageRead: C2CMsgReaded.C2CMsgReadedItem [{To_Account, LastedMsgTime}]
// (the time, s, of the last message read).
asio::awaitable<void> sdk_msg_readed(sdk_call& call) {
  const auto* readed = call.request.body.if_contains("C2CMsgReaded");
  const auto* items = readed != nullptr && readed->is_object()
                          ? readed->get_object().if_contains("C2CMsgReadedItem")
                          : nullptr;
  if (items == nullptr || !items->is_array()) {
    call.reply(errc::invalid_parameter);
    co_return;
  }
  const auto login = call.login();
  for (const auto& item : items->get_array()) {
    const auto* o = item.if_object();
    if (o == nullptr)
      continue;
    const auto peer = string_member(*o, "To_Account");
    if (!is_valid_user_id(peer))
      continue;
    const auto up_to_s = body_integer(*o, "LastedMsgTime", 0);
    const auto up_to_ms = up_to_s > 0 ? up_to_s * 1000 + 999 : INT64_MAX;
    if (!co_await mark_conversation_read(call.context(), login.sdkappid, login.user_id, peer,
                                         up_to_ms, login.instance_id)) {
      call.reply(errc::internal_error);
      co_return;
    }
  }
  call.reply(errc::ok);
}

// openim.get_peer_read_time: {To_Account: [peers]} -> ReadTime [s], in order.
asio::awaitable<void> sdk_peer_read_time(sdk_call& call) {
  std::vector<std::string> peers;
  if (const auto* list = call.request.body.if_contains("To_Account"); list && list->is_array())
    for (const auto& peer : list->get_array())
      if (peer.is_string())
        peers.emplace_back(peer.get_string());
  const auto& login = call.login();
  auto times =
      co_await peer_read_times(call.context().messages, login.sdkappid, login.user_id, peers);
  if (!times.ok()) {
    call.reply(errc::internal_error);
    co_return;
  }
  json::array seconds;
  for (const auto t : times.value)
    seconds.push_back(t / 1000);
  call.reply(errc::ok, {{"ReadTime", std::move(seconds)}});
}

// openim.get_c2c_peer_mute_notifications: chatd keeps no per-peer
// notification settings, so every peer is "accept and notify" (MuteFlag 0).
// Unanswered, the SDK leaves the conversation's remind type unset and
// counts none of its messages in the total unread count.
asio::awaitable<void> sdk_peer_mute_flags(sdk_call& call) {
  json::array flags;
  if (const auto* peers = call.request.body.if_contains("Peer_Account"); peers && peers->is_array())
    for (const auto& peer : peers->get_array())
      if (peer.is_string())
        flags.push_back(json::object{{"User_Account", peer}, {"MuteFlag", 0}});
  call.reply(errc::ok, {{"MuteNotificationsList", std::move(flags)}});
  co_return;
}

}  // namespace chatd
