// The conversation flows shared by the native protocol, the Tencent SDK's
// and REST: a user's conversations with their unread counts, and read marks
// (CONTRACT-NOTES "Conversations and read marks").
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "actors/reply.hpp"
#include "protocol/profile.hpp"
#include "store/message_store.hpp"

namespace chatd {

struct gateway_context;

// The most conversations one list holds (Tencent keeps 100 by default, 500
// on its paid editions).
inline constexpr std::size_t max_conversations = 500;

// The user's conversations, newest first.
boost::asio::awaitable<outcome<std::vector<conversation_summary>>> list_conversations(
    message_store& store, std::uint32_t sdkappid, std::string owner,
    std::size_t max_count = max_conversations);

// The unread counts of the same conversations, those with none left out
// (no messages or profiles read: what a login's sync needs).
boost::asio::awaitable<outcome<std::vector<unread_count>>> unread_counts(
    message_store& store, std::uint32_t sdkappid, std::string owner,
    std::size_t max_count = max_conversations);

// The profiles of the peers of `list`, in its order; empty ones if the
// store did not answer (a list is still worth showing without nicks).
boost::asio::awaitable<std::vector<user_profile>> peer_profiles(
    gateway_context& context, std::uint32_t sdkappid, std::span<const conversation_summary> list);

// Marks the conversation of `owner` with `peer` read up to `up_to_ms`
// (durable), then tells the owner's other instances and the peer's
// instances (a read notice and a receipt). nullopt: not written.
boost::asio::awaitable<std::optional<read_mark>> mark_conversation_read(
    gateway_context& context, std::uint32_t sdkappid, std::string owner, std::string peer,
    std::int64_t up_to_ms, std::string reading_instance);

// Each peer's read mark of its conversation with `owner` (ms, 0: none).
boost::asio::awaitable<outcome<std::vector<std::int64_t>>> peer_read_times(
    message_store& store, std::uint32_t sdkappid, std::string owner,
    std::vector<std::string> peers);

}  // namespace chatd
