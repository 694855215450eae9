#include "gateway/profile_flow.hpp"

#include <spdlog/spdlog.h>

#include "gateway/actor_ask.hpp"
#include "gateway/gateway_context.hpp"

namespace chatd {
namespace {

// Plain functions returning the awaitable: a coroutine that passes a
// capturing lambda to ask<> is miscompiled by GCC 12 (docs/DESIGN.md).
boost::asio::awaitable<outcome<bool>> write_profile(gateway_backend& backend,
                                                    std::uint32_t sdkappid, std::string user_id,
                                                    std::vector<profile_field> fields) {
  return ask<bool>([&backend, sdkappid, user = std::move(user_id),
                    fields = std::move(fields)](reply<bool> done) mutable {
    backend.set_profile(sdkappid, user, std::move(fields), std::move(done));
  });
}

boost::asio::awaitable<outcome<std::vector<user_profile>>> read_profiles(
    gateway_backend& backend, std::uint32_t sdkappid, std::vector<std::string> user_ids) {
  return ask<std::vector<user_profile>>(
      [&backend, sdkappid, users = std::move(user_ids)](reply<std::vector<user_profile>> done) {
        backend.get_profiles(sdkappid, users, std::move(done));
      });
}

}  // namespace

boost::asio::awaitable<errc> set_profile(gateway_context& context, std::uint32_t sdkappid,
                                         std::string user_id, std::vector<profile_field> fields) {
  if (!context.backend.account_known(sdkappid, user_id))
    co_return errc::profile_account_unknown;
  const auto written =
      co_await write_profile(context.backend, sdkappid, std::move(user_id), std::move(fields));
  if (!written.ok()) {
    spdlog::error("profile: the store did not write a profile");
    co_return errc::internal_error;
  }
  co_return errc::ok;
}

boost::asio::awaitable<outcome<std::vector<profile_answer>>> get_profiles(
    gateway_context& context, std::uint32_t sdkappid, std::vector<std::string> user_ids) {
  std::vector<profile_answer> answers;
  std::vector<std::string> known;
  for (auto& user : user_ids) {
    const bool is_known = context.backend.account_known(sdkappid, user);
    if (is_known)
      known.push_back(user);
    answers.push_back({std::move(user), is_known, {}});
  }
  auto read = co_await read_profiles(context.backend, sdkappid, std::move(known));
  if (!read.ok())
    co_return outcome<std::vector<profile_answer>>{read.error, {}};
  std::size_t next = 0;
  for (auto& answer : answers)
    if (answer.known)
      answer.profile = std::move(read.value[next++]);
  co_return outcome<std::vector<profile_answer>>{ask_error::none, std::move(answers)};
}

}  // namespace chatd
