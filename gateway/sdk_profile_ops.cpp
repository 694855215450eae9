// The profile servcmds of the Tencent SDK protocol (docs/SDK-WIRE-NOTES.md,
// "Profiles"): getMyProfile, getUserProfile and updateMyProfile.
#include "gateway/profile_flow.hpp"
#include "gateway/sdk_call.hpp"
#include "protocol/profile_json.hpp"

namespace chatd {

namespace asio = boost::asio;
namespace json = boost::json;

// getMyProfile and getUserProfile: UserItem [{To_Account}]. A user who is
// no account is answered as Tencent does, "@TLS#NOT_FOUND" (the SDK skips it).
asio::awaitable<void> sdk_portrait_get(sdk_call& call) {
  std::vector<std::string> users;
  if (const auto* items = call.request.body.if_contains("UserItem"); items && items->is_array())
    for (const auto& item : items->get_array())
      if (const auto* o = item.if_object())
        users.push_back(string_member(*o, "To_Account"));
  if (users.size() > max_profiles_per_get) {
    call.reply(errc::profile_value_invalid);
    co_return;
  }
  auto read = co_await get_profiles(call.context(), call.login().sdkappid, std::move(users));
  if (!read.ok()) {
    call.reply(errc::internal_error);
    co_return;
  }
  json::array items;
  for (const auto& answer : read.value)
    items.push_back(json::object{{"To_Account", answer.known ? answer.user_id : "@TLS#NOT_FOUND"},
                                 {"ProfileItem", profile_items(answer.profile)},
                                 {"ResultCode", 0},
                                 {"ResultInfo", ""}});
  call.reply(errc::ok, {{"UserProfileItem", std::move(items)}});
}

// updateMyProfile: ProfileItem [{Tag, Value}], for the logged-in user.
asio::awaitable<void> sdk_portrait_set(sdk_call& call) {
  const auto* items = call.request.body.if_contains("ProfileItem");
  auto fields = items ? read_profile_items(*items) : errc::profile_value_invalid;
  if (const auto* refused = std::get_if<errc>(&fields)) {
    call.reply(*refused);
    co_return;
  }
  const auto& login = call.login();
  call.reply(co_await set_profile(call.context(), login.sdkappid, login.user_id,
                                  std::get<std::vector<profile_field>>(std::move(fields))));
}

}  // namespace chatd
