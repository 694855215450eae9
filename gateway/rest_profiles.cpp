// The profile commands of the admin REST API, shaped as Tencent's:
// profile/portrait_get and profile/portrait_set.
#include "gateway/profile_flow.hpp"
#include "gateway/rest_call.hpp"
#include "protocol/json_strings.hpp"
#include "protocol/profile_json.hpp"

namespace chatd {
namespace {

// The fields of `profile` named in `tags` (all of them if `tags` is empty).
user_profile only_tags(const user_profile& profile, const std::vector<std::string>& tags) {
  if (tags.empty())
    return profile;
  user_profile out;
  for (const auto& field : profile)
    if (std::find(tags.begin(), tags.end(), field.tag) != tags.end())
      out.push_back(field);
  return out;
}

}  // namespace

// {To_Account: [userIDs] (1..100), TagList: [tags]}: UserProfileItem with a
// ResultCode per user (40003 for a user who is no account).
boost::asio::awaitable<rest_result> rest_portrait_get(rest_call& call) {
  auto users = string_array(call.body.if_contains("To_Account"));
  auto tags = string_array(call.body.if_contains("TagList"));
  if (!users || users->empty() || users->size() > max_profiles_per_get)
    co_return fail(errc::invalid_rest_parameter, "To_Account must be an array of 1 to 100 userIDs");
  if (!tags)
    co_return fail(errc::invalid_rest_parameter, "TagList must be an array of profile tags");
  auto read = co_await get_profiles(*call.context, call.app->sdkappid, std::move(*users));
  if (!read.ok())
    co_return store_failed();
  json::array items;
  for (const auto& answer : read.value) {
    const auto code = answer.known ? errc::ok : errc::profile_account_unknown;
    items.push_back(json::object{{"To_Account", answer.user_id},
                                 {"ProfileItem", profile_items(only_tags(answer.profile, *tags))},
                                 {"ResultCode", code_number(code)},
                                 {"ResultInfo", answer.known ? "" : message_of(code)}});
  }
  co_return rest_result{errc::ok, {}, {{"UserProfileItem", std::move(items)}}};
}

// {From_Account, ProfileItem: [{Tag, Value}]}: durable before the answer.
boost::asio::awaitable<rest_result> rest_portrait_set(rest_call& call) {
  auto user = user_id_field(call.body, "From_Account");
  if (!user)
    co_return fail(errc::invalid_rest_parameter, "From_Account must be a valid userID");
  const auto* items = call.body.if_contains("ProfileItem");
  auto fields = items ? read_profile_items(*items) : errc::profile_value_invalid;
  if (const auto* refused = std::get_if<errc>(&fields))
    co_return fail(*refused);
  const auto code = co_await set_profile(*call.context, call.app->sdkappid, std::move(*user),
                                         std::get<std::vector<profile_field>>(std::move(fields)));
  co_return code == errc::internal_error ? store_failed() : rest_result{code, {}, {}};
}

}  // namespace chatd
