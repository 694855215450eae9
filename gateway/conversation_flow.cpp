#include "gateway/conversation_flow.hpp"

#include <spdlog/spdlog.h>

#include "actors/session_service.hpp"
#include "gateway/actor_ask.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/profile_flow.hpp"

namespace chatd {
namespace {

// Plain functions returning the awaitable (GCC 12, docs/DESIGN.md).
boost::asio::awaitable<outcome<std::optional<read_mark>>> write_mark(message_store& store,
                                                                     std::uint32_t sdkappid,
                                                                     std::string owner,
                                                                     std::string peer,
                                                                     std::int64_t up_to_ms) {
  return ask<std::optional<read_mark>>([&store, sdkappid, owner = std::move(owner),
                                        peer = std::move(peer),
                                        up_to_ms](reply<std::optional<read_mark>> done) {
    store.mark_read(sdkappid, owner, peer, up_to_ms,
                    [done](std::optional<read_mark> mark) { done(mark); });
  });
}

}  // namespace

boost::asio::awaitable<outcome<std::vector<conversation_summary>>> list_conversations(
    message_store& store, std::uint32_t sdkappid, std::string owner, std::size_t max_count) {
  return ask<std::vector<conversation_summary>>(
      [&store, sdkappid, owner = std::move(owner),
       max_count](reply<std::vector<conversation_summary>> done) {
        store.read_conversations(
            sdkappid, owner, max_count,
            [done](std::vector<conversation_summary> list) { done(std::move(list)); });
      });
}

boost::asio::awaitable<outcome<std::vector<unread_count>>> unread_counts(message_store& store,
                                                                         std::uint32_t sdkappid,
                                                                         std::string owner,
                                                                         std::size_t max_count) {
  return ask<std::vector<unread_count>>([&store, sdkappid, owner = std::move(owner),
                                         max_count](reply<std::vector<unread_count>> done) {
    store.read_unread_counts(sdkappid, owner, max_count,
                             [done](std::vector<unread_count> counts) { done(std::move(counts)); });
  });
}

boost::asio::awaitable<std::vector<user_profile>> peer_profiles(
    gateway_context& context, std::uint32_t sdkappid, std::span<const conversation_summary> list) {
  std::vector<user_profile> profiles(list.size());
  if (list.empty())
    co_return profiles;
  std::vector<std::string> peers;
  for (const auto& c : list)
    peers.push_back(c.peer);
  auto read = co_await get_profiles(context, sdkappid, std::move(peers));
  if (read.ok())
    for (std::size_t i = 0; i < profiles.size(); ++i)
      profiles[i] = std::move(read.value[i].profile);
  co_return profiles;
}

boost::asio::awaitable<outcome<std::vector<std::int64_t>>> peer_read_times(
    message_store& store, std::uint32_t sdkappid, std::string owner,
    std::vector<std::string> peers) {
  return ask<std::vector<std::int64_t>>(
      [&store, sdkappid, owner = std::move(owner),
       peers = std::move(peers)](reply<std::vector<std::int64_t>> done) {
        store.peer_read_times(sdkappid, owner, peers,
                              [done](std::vector<std::int64_t> times) { done(std::move(times)); });
      });
}

boost::asio::awaitable<std::optional<read_mark>> mark_conversation_read(
    gateway_context& context, std::uint32_t sdkappid, std::string owner, std::string peer,
    std::int64_t up_to_ms, std::string reading_instance) {
  auto written = co_await write_mark(context.messages, sdkappid, owner, peer, up_to_ms);
  if (!written.ok() || !written.value) {
    spdlog::error("read mark app={} user={}: not written", sdkappid, owner);
    co_return std::nullopt;
  }
  const auto time_ms = written.value->read_time_ms;
  context.sessions.notify(sdkappid, owner, {notice_kind::read_by_self, peer, time_ms},
                          std::move(reading_instance));
  if (peer != owner)
    context.sessions.notify(sdkappid, peer, {notice_kind::read_by_peer, owner, time_ms}, "");
  co_return written.value;
}

}  // namespace chatd
