#include "protocol/sdk_frame.hpp"

#include "protocol/json_number.hpp"
#include "protocol/json_strings.hpp"

#include <boost/json.hpp>

namespace chatd::sdk {
namespace json = boost::json;

std::optional<request> parse(std::string_view text) {
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec || !doc.is_object())
    return std::nullopt;
  auto& obj = doc.get_object();
  auto* head = obj.if_contains("head");
  if (head == nullptr || !head->is_object())
    return std::nullopt;
  const auto* servcmd = head->get_object().if_contains("servcmd");
  const auto* seq = head->get_object().if_contains("seq");
  if (servcmd == nullptr || !servcmd->is_string() || seq == nullptr)
    return std::nullopt;
  const auto seq_number = exact_unsigned(*seq);
  if (!seq_number)
    return std::nullopt;
  request out;
  out.servcmd = std::string(servcmd->get_string());
  out.seq = *seq_number;
  out.head = std::move(head->get_object());
  if (auto* body = obj.if_contains("body"); body != nullptr && body->is_object())
    out.body = std::move(body->get_object());
  return out;
}

std::string encode_reply(const request& to, errc code, json::object fields, std::string_view info) {
  json::object body;
  body["ActionStatus"] = code == errc::ok ? "OK" : "FAIL";
  body["ErrorCode"] = code_number(code);
  body["ErrorInfo"] = code == errc::ok ? "" : (info.empty() ? message_of(code) : info);
  for (auto& [k, v] : fields)
    body[k] = std::move(v);
  json::object out;
  out["head"] = json::object{{"servcmd", to.servcmd}, {"seq", to.seq}};
  out["body"] = std::move(body);
  return json::serialize(out);
}

std::string encode_kick_push(kick_type type, std::uint64_t new_instance, std::uint64_t push_seq) {
  const int kick_code = type == kick_type::multiple_account  ? 1
                        : type == kick_type::multiple_device ? 2
                                                             : 3;
  json::object notify{{"KickType", kick_code},
                      {"NewInstInfo", json::object{{"InstId", new_instance}}}};
  json::object event{
      {"Event", 9}, {"C2cNotifyMsgArray", json::array{json::object{{"KickoutMsgNotify", notify}}}}};
  json::object out;
  out["head"] = json::object{{"servcmd", "im_open_status.stat_forceoffline"}, {"seq", push_seq}};
  out["body"] = json::object{{"eventArray", json::array{event}}};
  return json::serialize(out);
}

namespace {

// One C2C notice (a read, a receipt, a withdrawn message) as the SDK takes
// it: Event 9's C2cNotifyMsgArray in an im_open_push.msg_push.
std::string encode_c2c_notify(json::object notify, std::uint64_t push_seq) {
  json::object event{{"Event", 9}, {"C2cNotifyMsgArray", json::array{std::move(notify)}}};
  json::object out;
  out["head"] = json::object{{"servcmd", "im_open_push.msg_push"}, {"seq", push_seq}};
  out["body"] = json::object{{"EventArray", json::array{std::move(event)}}};
  return json::serialize(out);
}

}  // namespace

std::string encode_read_notice(bool read_by_self, std::string_view peer, std::int64_t read_time_s,
                               std::uint64_t push_seq) {
  json::object notify =
      read_by_self
          ? json::object{{"ReadC2cMsgNotify",
                          json::object{{"UinPairReadArray",
                                        json::array{json::object{{"From_Account", peer},
                                                                 {"LastReadTime", read_time_s}}}}}}}
          : json::object{{"C2cReadedReceipt",
                          json::object{{"To_Account", peer},
                                       {"UinPairReadArray", json::array{json::object{
                                                                {"LastReadTime", read_time_s}}}}}}};
  return encode_c2c_notify(std::move(notify), push_seq);
}

std::string encode_revoke_notice(const revoked_item& item, std::uint64_t push_seq) {
  json::object info{{"From_Account", item.from},
                    {"To_Account", item.to},
                    {"MsgSeq", item.client_seq},
                    {"MsgRandom", item.random},
                    {"MsgTimeStamp", item.time_s}};
  json::object notify{
      {"WithdrawC2cMsgNotify", json::object{{"C2cWithdrawInfoArray", json::array{info}}}}};
  return encode_c2c_notify(std::move(notify), push_seq);
}

json::array msg_body(const chat_message& m) {
  if (m.revoked)  // its content is gone; an empty element keeps it in the SDK's history
    return json::array{
        json::object{{"MsgType", "TIMTextElem"}, {"MsgContent", json::object{{"Text", ""}}}}};
  if (m.custom)
    return json::array{json::object{{"MsgType", "TIMCustomElem"},
                                    {"MsgContent", json::object{{"Data", m.custom->data},
                                                                {"Desc", m.custom->description},
                                                                {"Ext", m.custom->extension}}}}};
  return json::array{
      json::object{{"MsgType", "TIMTextElem"}, {"MsgContent", json::object{{"Text", m.text}}}}};
}

json::object message_item(const timeline_entry& entry, item_use use) {
  const auto& m = *entry.message;
  // A push of the user's own message is a sync copy, which the SDK expects
  // swapped (TENCENT-SDK-MESSAGING §6: only its push handler swaps it
  // back); a getmsg sync and history keep the natural order, from which
  // the SDK reads `flow`.
  const bool copy = entry.flow == message_flow::out && use == item_use::push;
  json::object item{{"From_Account", copy ? m.to : m.from},
                    {"To_Account", copy ? m.from : m.to},
                    {"MsgSeq", m.client_seq},
                    {"MsgRandom", m.random},
                    {"MsgTimeStamp", m.time_ms / 1000},
                    {"MsgClientTime", m.client_time_s},
                    {"TinyId", tiny_id(m.sdkappid, m.from)},
                    {"MsgBody", msg_body(m)},
                    {"MsgKey", m.message_id},
                    {"IsSyncMsg", copy ? 1 : 0},
                    {"CloudCustomData", ""},
                    {"From_AccountNick", ""},
                    {"From_AccountHeadurl", ""}};
  // The SDK marks it online-only: not unread, not a conversation's last
  // message (TUIKit's typing status).
  if (m.online_only)
    item["MsgLifeTime"] = 0;
  if (m.revoked)
    item["MsgFlagBits"] = 8;  // the SDK's isRevoked
  return item;
}

std::string encode_message_push(json::array items, std::uint64_t push_seq,
                                std::string_view session_data) {
  json::object out;
  out["head"] = json::object{{"servcmd", "im_open_push.msg_push"}, {"seq", push_seq}};
  out["body"] = json::object{
      {"NeedAck", 1},
      {"SessionData", session_data},
      {"EventArray", json::array{json::object{{"Event", 1}, {"C2cMsgArray", std::move(items)}}}}};
  return json::serialize(out);
}

std::string encode_sync_notify(std::uint64_t push_seq) {
  json::object out;
  out["head"] = json::object{{"servcmd", "im_open_push.msg_push"}, {"seq", push_seq}};
  out["body"] = json::object{
      {"Flag", 1},
      {"EventArray", json::array{json::object{{"Event", 1}, {"C2cMsgArray", json::array{}}}}}};
  return json::serialize(out);
}

namespace {

// One element into `m`; false if it is not a text or custom element, or a
// custom element beside another element.
bool read_element(const json::value& element, bool only_element, chat_message& m) {
  const auto* e = element.if_object();
  const auto* type = e != nullptr ? e->if_contains("MsgType") : nullptr;
  const auto* content = e != nullptr ? e->if_contains("MsgContent") : nullptr;
  if (type == nullptr || !type->is_string() || content == nullptr || !content->is_object())
    return false;
  const auto& c = content->get_object();
  if (type->get_string() == "TIMTextElem") {
    const auto* t = c.if_contains("Text");
    if (t == nullptr || !t->is_string())
      return false;
    m.text += t->get_string();
    return true;
  }
  if (type->get_string() != "TIMCustomElem" || !only_element)
    return false;
  m.custom =
      custom_element{string_member(c, "Data"), string_member(c, "Desc"), string_member(c, "Ext")};
  return true;
}

}  // namespace

bool read_msg_body(const json::value& msg_body, chat_message& m) {
  const auto* elements = msg_body.if_array();
  if (elements == nullptr || elements->empty())
    return false;
  for (const auto& element : *elements)
    if (!read_element(element, elements->size() == 1, m))
      return false;
  return true;
}

bool is_online_only(const json::object& body) {
  const auto* life = body.if_contains("MsgLifeTime");
  const auto seconds = life != nullptr ? exact_integer(*life) : std::nullopt;
  return seconds && *seconds == 0;
}

platform platform_of(const json::object& head) {
  const auto* p = head.if_contains("platform");
  const auto code = p != nullptr ? exact_integer(*p) : std::nullopt;
  if (!code)
    return platform::web;
  switch (*code) {
    case 2:
      return platform::android;
    case 3:
      return platform::iphone;
    case 4:
      return platform::mac;
    default:
      return platform::web;
  }
}

std::string tiny_id(std::uint32_t sdkappid, std::string_view user_id) {
  // FNV-1a over app and user, kept below 2^53 for JavaScript.
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  for (int i = 0; i < 4; ++i)
    mix(static_cast<unsigned char>(sdkappid >> (8 * i)));
  for (char c : user_id)
    mix(static_cast<unsigned char>(c));
  return std::to_string((h & ((1ULL << 52) - 1)) | (1ULL << 52));
}

bool is_telemetry(std::string_view servcmd) {
  return servcmd.starts_with("imopenstat.");
}

}  // namespace chatd::sdk
