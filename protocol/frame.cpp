#include "protocol/frame.hpp"

#include <boost/json.hpp>

namespace chatd::frame {
namespace json = boost::json;

namespace {

std::optional<std::uint64_t> read_seq(const json::object& obj) {
  const auto* v = obj.if_contains("seq");
  if (v == nullptr || v->is_null())
    return 0;
  if (v->is_uint64())
    return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0)
    return static_cast<std::uint64_t>(v->get_int64());
  return std::nullopt;
}

}  // namespace

std::variant<request, rejection> parse_request(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object())
    return rejection{};
  auto& obj = doc.get_object();
  const auto seq = read_seq(obj);
  if (!seq)
    return rejection{};
  const auto* op = obj.if_contains("op");
  const auto* data = obj.if_contains("data");
  if (op == nullptr || !op->is_string())
    return rejection{*seq, errc::bad_json};
  if (data != nullptr && !data->is_null() && !data->is_object())
    return rejection{*seq, errc::bad_json};
  request out;
  out.seq = *seq;
  out.op = std::string(op->get_string());
  if (data != nullptr && data->is_object())
    out.data = std::move(obj["data"].get_object());
  return out;
}

std::string encode_response(std::uint64_t seq, errc code, json::object data) {
  return encode_response(seq, code, code == errc::ok ? "" : message_of(code), std::move(data));
}

std::string encode_response(std::uint64_t seq, errc code, std::string_view message,
                            json::object data) {
  json::object out(data.storage());  // data built in an arena is moved, not copied
  out["seq"] = seq;
  out["code"] = code_number(code);
  out["message"] = message;
  out["data"] = std::move(data);
  return json::serialize(out);
}

std::string encode_event(std::string_view event, json::object data) {
  json::object out(data.storage());
  out["event"] = event;
  out["data"] = std::move(data);
  return json::serialize(out);
}

std::string encode_message_event(const timeline_entry& entry) {
  return encode_event("messageReceived", message_data(entry));
}

json::object message_data(const timeline_entry& entry, json::storage_ptr storage) {
  const auto& m = *entry.message;
  json::object data({{"from", m.from},
                     {"to", m.to},
                     {"text", m.text},
                     {"messageID", m.message_id},
                     {"time", m.time_ms},
                     {"clientMsgID", m.client_msg_id},
                     {"seq", entry.seq},
                     {"flow", entry.flow == message_flow::in ? "in" : "out"}},
                    storage);
  if (m.custom)
    data["custom"] = json::object({{"data", m.custom->data},
                                   {"description", m.custom->description},
                                   {"extension", m.custom->extension}},
                                  storage);
  if (m.online_only)
    data["onlineOnly"] = true;
  if (m.revoked)
    data["revoked"] = true;
  return data;
}

namespace {

// An optional string member: true if absent or a string (copied to `out`).
bool optional_string(const json::object& o, std::string_view key, std::string& out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr)
    return true;
  if (!v->is_string())
    return false;
  out = std::string(v->get_string());
  return true;
}

}  // namespace

errc read_message_content(const json::object& data, chat_message& m) {
  const auto* text = data.if_contains("text");
  const auto* custom = data.if_contains("custom");
  if ((text == nullptr) == (custom == nullptr))
    return errc::text_invalid;
  if (const auto* online = data.if_contains("onlineOnly"); online != nullptr) {
    if (!online->is_bool())
      return errc::invalid_parameter;
    m.online_only = online->get_bool();
  }
  if (text != nullptr) {
    if (!text->is_string())
      return errc::text_invalid;
    m.text = std::string(text->get_string());
    return errc::ok;
  }
  custom_element element;
  const auto* fields = custom->if_object();
  if (fields == nullptr || !optional_string(*fields, "data", element.data) ||
      !optional_string(*fields, "description", element.description) ||
      !optional_string(*fields, "extension", element.extension))
    return errc::text_invalid;
  m.custom = std::move(element);
  return errc::ok;
}

}  // namespace chatd::frame
