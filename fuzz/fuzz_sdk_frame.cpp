// The Tencent SDK's {head, body} frames: parsing, the head fields chatd
// reads, message bodies, and the reply encoder.
#include <boost/json.hpp>
#include <string>

#include "protocol/profile_json.hpp"
#include "protocol/sdk_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto request = chatd::sdk::parse(text);
  if (!request)
    return 0;
  (void)chatd::sdk::platform_of(request->head);
  (void)chatd::sdk::is_telemetry(request->servcmd);
  if (const auto* body = request->body.if_contains("MsgBody")) {
    chatd::chat_message m;
    if (chatd::sdk::read_msg_body(*body, m)) {
      (void)chatd::check_body(m);
      (void)chatd::sdk::msg_body(m);
    }
  }
  (void)chatd::sdk::is_online_only(request->body);
  if (const auto* items = request->body.if_contains("ProfileItem")) {
    auto fields = chatd::read_profile_items(*items);
    if (auto* read = std::get_if<std::vector<chatd::profile_field>>(&fields)) {
      chatd::user_profile profile;
      chatd::merge_profile(profile, *read);
      (void)chatd::profile_items(profile);
    }
  }
  (void)chatd::sdk::encode_reply(*request, chatd::errc::ok, request->body);
  return 0;
}
