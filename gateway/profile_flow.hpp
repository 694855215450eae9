// The profile flows shared by the native protocol, the Tencent SDK's and
// REST: checks, the durable write, and reads (CONTRACT-NOTES "Profiles").
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "actors/reply.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/profile.hpp"

namespace chatd {

struct gateway_context;

// 40003 for a user that is not a known account; else the (checked) fields
// are merged into the stored profile and ok answers once durable; 70500 if
// the store failed.
boost::asio::awaitable<errc> set_profile(gateway_context& context, std::uint32_t sdkappid,
                                         std::string user_id, std::vector<profile_field> fields);

// One user's answer to a profile read: unknown (not an account) or its profile.
struct profile_answer {
  std::string user_id;
  bool known = false;
  user_profile profile;
};

// The stored profiles of up to max_profiles_per_get users, in their order.
boost::asio::awaitable<outcome<std::vector<profile_answer>>> get_profiles(
    gateway_context& context, std::uint32_t sdkappid, std::vector<std::string> user_ids);

}  // namespace chatd
