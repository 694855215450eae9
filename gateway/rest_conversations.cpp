// The conversation commands of the admin REST API, shaped as Tencent's:
// recentcontact/get_list, openim/get_c2c_unread_msg_num and
// openim/admin_set_msg_read.
#include <algorithm>

#include "gateway/conversation_flow.hpp"
#include "gateway/rest_call.hpp"
#include "protocol/json_number.hpp"
#include "protocol/json_strings.hpp"

namespace chatd {
namespace {

constexpr std::size_t page_size = 100;

std::int64_t integer_or(const json::object& body, std::string_view key, std::int64_t fallback) {
  const auto* v = body.if_contains(key);
  return (v != nullptr ? exact_integer(*v) : std::nullopt).value_or(fallback);
}

}  // namespace

// {From_Account, StartIndex, ...}: SessionItem [{Type 1, To_Account, MsgTime,
// TopFlag, UnreadMsgCount}], newest first, 100 a page (StartIndex pages on).
boost::asio::awaitable<rest_result> rest_recent_contacts(rest_call& call) {
  auto owner = user_id_field(call.body, "From_Account");
  if (!owner)
    co_return fail(errc::invalid_rest_parameter, "From_Account must be a valid userID");
  const auto start = static_cast<std::size_t>(
      std::clamp<std::int64_t>(integer_or(call.body, "StartIndex", 0), 0, max_conversations));
  auto list =
      co_await list_conversations(call.context->messages, call.app->sdkappid, std::move(*owner),
                                  std::min(start + page_size, max_conversations));
  if (!list.ok())
    co_return store_failed();
  const auto& all = list.value;
  json::array items;
  for (std::size_t i = start; i < all.size(); ++i)
    items.push_back(json::object{{"Type", 1},
                                 {"To_Account", all[i].peer},
                                 {"MsgTime", all[i].last.message->time_ms / 1000},
                                 {"TopFlag", 0},
                                 {"UnreadMsgCount", all[i].unread}});
  const bool complete = all.size() < start + page_size || all.size() >= max_conversations;
  co_return rest_result{errc::ok,
                        {},
                        {{"CompleteFlag", complete ? 1 : 0},
                         {"TimeStamp", 0},
                         {"StartIndex", all.size()},
                         {"TopTimeStamp", 0},
                         {"TopStartIndex", 0},
                         {"SessionItem", std::move(items)}}};
}

// {To_Account, Peer_Account: [peers] (optional)}: AllC2CUnreadMsgNum, and
// per peer asked C2CUnreadMsgNumList [{Peer_Account, C2CUnreadMsgNum}].
boost::asio::awaitable<rest_result> rest_c2c_unread_count(rest_call& call) {
  auto owner = user_id_field(call.body, "To_Account");
  if (!owner)
    co_return fail(errc::invalid_rest_parameter, "To_Account must be a valid userID");
  auto counts =
      co_await unread_counts(call.context->messages, call.app->sdkappid, std::move(*owner));
  if (!counts.ok())
    co_return store_failed();
  std::uint64_t total = 0;
  for (const auto& c : counts.value)
    total += c.unread;
  rest_result out{errc::ok, {}, {{"AllC2CUnreadMsgNum", total}}};
  if (const auto* asked = call.body.if_contains("Peer_Account"); asked && asked->is_array()) {
    const auto peers = string_array(asked);
    if (!peers)
      co_return fail(errc::invalid_rest_parameter, "Peer_Account must be an array of userIDs");
    json::array per_peer;
    for (const auto& peer : *peers) {
      const auto it = std::find_if(counts.value.begin(), counts.value.end(),
                                   [&](const auto& c) { return c.peer == peer; });
      per_peer.push_back(json::object{
          {"Peer_Account", peer}, {"C2CUnreadMsgNum", it == counts.value.end() ? 0 : it->unread}});
    }
    out.fields["C2CUnreadMsgNumList"] = std::move(per_peer);
  }
  co_return out;
}

// {Report_Account, Peer_Account, MsgReadTime (s, optional: now)}: Report
// has read the conversation with Peer, as if it called setMessageRead.
boost::asio::awaitable<rest_result> rest_set_msg_read(rest_call& call) {
  auto owner = user_id_field(call.body, "Report_Account");
  auto peer = user_id_field(call.body, "Peer_Account");
  if (!owner || !peer)
    co_return fail(errc::invalid_rest_parameter, "Report_Account and Peer_Account must be userIDs");
  const auto read_time_s = integer_or(call.body, "MsgReadTime", 0);
  const auto up_to_ms = read_time_s > 0 ? read_time_s * 1000 + 999 : INT64_MAX;
  const auto mark = co_await mark_conversation_read(
      *call.context, call.app->sdkappid, std::move(*owner), std::move(*peer), up_to_ms, "");
  co_return mark ? rest_result{} : store_failed();
}

}  // namespace chatd
