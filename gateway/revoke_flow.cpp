#include "gateway/revoke_flow.hpp"

#include <spdlog/spdlog.h>

#include "actors/session_service.hpp"
#include "gateway/actor_ask.hpp"
#include "gateway/gateway_context.hpp"
#include "store/message_store.hpp"

namespace chatd {
namespace {

// A plain function returning the awaitable (GCC 12, docs/DESIGN.md).
boost::asio::awaitable<outcome<std::optional<revoke_result>>> write_revoke(
    message_store& store, const revoke_request& request, std::int64_t sent_after_ms) {
  return ask<std::optional<revoke_result>>(
      [&store, request, sent_after_ms](reply<std::optional<revoke_result>> done) {
        store.revoke(request.sdkappid, request.sender, request.recipient, request.message_id,
                     sent_after_ms,
                     [done](std::optional<revoke_result> result) { done(std::move(result)); });
      });
}

// For the owner of `entry`: the peer and the direction are the entry's.
user_notice revoked_notice(const timeline_entry& entry) {
  const auto& m = *entry.message;
  user_notice notice{notice_kind::revoked, entry.peer(), m.time_ms};
  notice.outgoing = entry.flow == message_flow::out;
  notice.seq = entry.seq;
  notice.message_id = m.message_id;
  notice.client_seq = m.client_seq;
  notice.random = m.random;
  return notice;
}

}  // namespace

boost::asio::awaitable<errc> revoke_message(gateway_context& context, revoke_request request) {
  const auto app = context.backend.find_app(request.sdkappid);
  if (!app)
    co_return errc::sdkappid_not_found;
  std::int64_t sent_after_ms = 0;
  if (request.within_window) {
    sent_after_ms = wall_clock_ms() - std::int64_t{app->message_revoke_window_s} * 1000;
  }
  auto written = co_await write_revoke(context.messages, request, sent_after_ms);
  if (!written.ok() || !written.value) {
    spdlog::error("revoke app={} user={}: not written", request.sdkappid, request.sender);
    co_return errc::internal_error;
  }
  const auto& result = *written.value;
  if (result.code != errc::ok)
    co_return result.code;
  const auto& entries = result.entries;
  context.sessions.notify(request.sdkappid, request.recipient, revoked_notice(entries.recipient),
                          "");
  if (request.sender != request.recipient && entries.sender)
    context.sessions.notify(request.sdkappid, request.sender, revoked_notice(*entries.sender),
                            request.revoking_instance);
  co_return errc::ok;
}

}  // namespace chatd
