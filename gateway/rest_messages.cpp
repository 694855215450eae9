// The message commands of the admin REST API (CONTRACT §4), shaped as
// Tencent's: openim/sendmsg, openim/admin_getroammsg, openim/admin_msgwithdraw.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "gateway/message_flow.hpp"
#include "gateway/rest_call.hpp"
#include "gateway/revoke_flow.hpp"
#include "protocol/json_number.hpp"
#include "protocol/sdk_frame.hpp"

namespace chatd {
namespace {

std::optional<std::int64_t> integer_field(const json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  return v != nullptr ? exact_integer(*v) : std::nullopt;
}

// A Tencent-shaped MsgList item: the real sender and recipient.
json::object roaming_item(const timeline_entry& entry) {
  const auto& m = *entry.message;
  return {{"From_Account", m.from},           {"To_Account", m.to},
          {"MsgSeq", m.client_seq},           {"MsgRandom", m.random},
          {"MsgTimeStamp", m.time_ms / 1000}, {"MsgFlagBits", m.revoked ? 8 : 0},
          {"MsgKey", m.message_id},           {"MsgBody", sdk::msg_body(m)}};
}

std::variant<outgoing_message, rest_result> read_sendmsg(const rest_call& call) {
  const auto& body = call.body;
  outgoing_message out;
  auto& m = out.message;
  m.sdkappid = call.app->sdkappid;
  m.from = call.app->admin;
  if (body.contains("From_Account")) {
    auto from = user_id_field(body, "From_Account");
    if (!from || !call.context->backend.account_known(m.sdkappid, *from))
      return fail(errc::recipient_invalid, "From_Account is not a valid account");
    m.from = std::move(*from);
  }
  const auto* to = body.if_contains("To_Account");
  if (to == nullptr || !to->is_string())
    return fail(errc::recipient_invalid, "To_Account must be a userID");
  m.to = std::string(to->get_string());
  const auto sync = integer_field(body, "SyncOtherMachine").value_or(1);
  if (sync != 1 && sync != 2)
    return fail(errc::invalid_rest_parameter, "SyncOtherMachine must be 1 or 2");
  out.copy_to_sender = sync == 1;
  const auto* elements = body.if_contains("MsgBody");
  if (elements == nullptr || !sdk::read_msg_body(*elements, m))
    return fail(errc::text_invalid, "MsgBody must hold TIMTextElem elements or one TIMCustomElem");
  m.online_only = sdk::is_online_only(body);
  m.random = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(integer_field(body, "MsgRandom").value_or(0), 0, 99'999'999));
  m.client_seq = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, integer_field(body, "MsgSeq").value_or(0)));
  return out;
}

}  // namespace

boost::asio::awaitable<rest_result> rest_sendmsg(rest_call& call) {
  auto parsed = read_sendmsg(call);
  if (auto* refused = std::get_if<rest_result>(&parsed))
    co_return std::move(*refused);
  const auto sent =
      co_await send_message(*call.context, std::move(std::get<outgoing_message>(parsed)));
  if (sent.code != errc::ok)
    co_return fail(sent.code);
  const auto& m = *sent.entries.recipient.message;
  co_return rest_result{errc::ok, {}, {{"MsgTime", m.time_ms / 1000}, {"MsgKey", m.message_id}}};
}

// {From_Account, To_Account, MsgKey}: any retained message, no time limit
// (Tencent's admin_msgwithdraw).
boost::asio::awaitable<rest_result> rest_admin_msgwithdraw(rest_call& call) {
  auto from = user_id_field(call.body, "From_Account");
  auto to = user_id_field(call.body, "To_Account");
  const auto* key = call.body.if_contains("MsgKey");
  if (!from || !to || key == nullptr || !key->is_string())
    co_return fail(errc::invalid_rest_parameter,
                   "From_Account, To_Account (userIDs) and MsgKey are required");
  // Named, not a braced temporary in the co_await: GCC 12 frees those twice.
  revoke_request request{call.app->sdkappid,
                         std::move(*from),
                         std::move(*to),
                         std::string(key->get_string()),
                         false,
                         ""};
  const auto code = co_await revoke_message(*call.context, std::move(request));
  if (code == errc::invalid_parameter)
    co_return fail(errc::invalid_rest_parameter, "no such message of From_Account to To_Account");
  co_return code == errc::internal_error ? store_failed() : rest_result{code, {}, {}};
}

boost::asio::awaitable<rest_result> rest_admin_getroammsg(rest_call& call) {
  const auto& body = call.body;
  auto owner = user_id_field(body, "Operator_Account");
  auto peer = user_id_field(body, "Peer_Account");
  if (!owner || !peer)
    co_return fail(errc::invalid_rest_parameter,
                   "Operator_Account and Peer_Account must be userIDs");
  const auto max_count = integer_field(body, "MaxCnt").value_or(100);
  if (max_count < 1 || max_count > 100)
    co_return fail(errc::invalid_rest_parameter, "MaxCnt must be in 1..100");
  conversation_query query;
  query.sdkappid = call.app->sdkappid;
  query.owner = std::move(*owner);
  query.peer = std::move(*peer);
  query.min_time_ms = integer_field(body, "MinTime").value_or(0) * 1000;
  if (const auto max_time = integer_field(body, "MaxTime"))
    query.max_time_ms = *max_time * 1000 + 999;
  query.max_count = static_cast<std::size_t>(max_count) + 1;  // one more: is there more?
  auto read = co_await read_conversation(call.context->messages, std::move(query));
  if (!read.ok())
    co_return fail(errc::internal_error, "the message store did not answer");
  auto& entries = read.value;
  const bool complete = entries.size() <= static_cast<std::size_t>(max_count);
  if (!complete)
    entries.resize(static_cast<std::size_t>(max_count));
  json::array list;
  for (const auto& entry : entries)
    list.push_back(roaming_item(entry));
  const auto* last = entries.empty() ? nullptr : &entries.back();
  co_return rest_result{errc::ok,
                        {},
                        {{"Complete", complete ? 1 : 0},
                         {"MsgCnt", entries.size()},
                         {"LastMsgTime", last ? last->message->time_ms / 1000 : 0},
                         {"LastMsgKey", last ? last->message->message_id : ""},
                         {"MsgList", std::move(list)}}};
}

}  // namespace chatd
