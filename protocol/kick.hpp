// Kick types: Tencent's TencentCloudChat.TYPES strings and the not-ready
// reasons that follow them.
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/error_codes.hpp"

namespace chatd {

enum class kick_type : std::uint8_t {
  multiple_account,
  multiple_device,
  usersig_expired,
  rest_api
};
inline constexpr int kick_type_count = 4;

// "multipleAccount", "multipleDevice", "userSigExpired", "REST_API_Kick".
std::string_view kick_type_name(kick_type type);
// The sdkStateNotReady reason that follows a kick of this type (3002..3006).
errc not_ready_reason(kick_type type);

}  // namespace chatd
