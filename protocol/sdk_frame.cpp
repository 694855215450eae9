#include "protocol/sdk_frame.hpp"

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
  if (servcmd == nullptr || !servcmd->is_string() || seq == nullptr || !seq->is_number())
    return std::nullopt;
  request out;
  out.servcmd = std::string(servcmd->get_string());
  out.seq =
      seq->is_uint64() ? seq->get_uint64() : static_cast<std::uint64_t>(seq->to_number<double>());
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

platform platform_of(const json::object& head) {
  const auto* p = head.if_contains("platform");
  if (p == nullptr || !p->is_number())
    return platform::web;
  switch (p->to_number<std::int64_t>()) {
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
