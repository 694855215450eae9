// A native-protocol text frame up to the actor boundary: the request codec,
// the login request and its checks (with a real app), and the checks of a
// sendMessage's text.
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <variant>

#include "protocol/frame.hpp"
#include "protocol/login_request.hpp"
#include "protocol/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = chatd::frame::parse_request(text);
  auto* request = std::get_if<chatd::frame::request>(&parsed);
  if (request == nullptr) {
    const auto& rejected = std::get<chatd::frame::rejection>(parsed);
    (void)chatd::frame::encode_response(rejected.seq, rejected.code);
    return 0;
  }
  if (request->op == "login") {
    auto login = chatd::parse_login_request(request->data);
    if (auto* checked = std::get_if<chatd::login_request>(&login)) {
      chatd::app_config app;
      app.sdkappid = 1400000000;
      app.secret_key = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
      chatd::login_context context{&app, 1700000000000, "", false, 0};
      (void)chatd::check_login(*checked, context);
    }
  } else if (request->op == "sendMessage") {
    chatd::chat_message m;
    if (chatd::frame::read_message_content(request->data, m) == chatd::errc::ok) {
      (void)chatd::check_body(m);
      (void)chatd::frame::encode_message_event(
          {0, chatd::message_flow::in, std::make_shared<const chatd::chat_message>(m)});
    }
  }
  (void)chatd::frame::encode_response(request->seq, chatd::errc::ok, request->data);
  return 0;
}
