// Withdrawing a message (CONTRACT-NOTES "Revoke"), shared by the Tencent
// SDK's openim.msgwithdraw, the native revokeMessage and REST
// openim/admin_msgwithdraw.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "protocol/error_codes.hpp"

namespace chatd {

struct gateway_context;

struct revoke_request {
  std::uint32_t sdkappid = 0;
  std::string sender;
  std::string recipient;
  std::string message_id;         // Tencent's MsgKey
  bool within_window = true;      // false for the admin: any retained message
  std::string revoking_instance;  // gets no notice of its own revoke; "" for REST
};

// The message's text and custom element are removed from both timelines
// (durable), then every instance of the recipient and the sender's other
// instances are told. ok; invalid_parameter (no such retained message);
// revoke_window_passed; sdkappid_not_found; internal_error (not written).
boost::asio::awaitable<errc> revoke_message(gateway_context& context, revoke_request request);

}  // namespace chatd
