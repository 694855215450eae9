// One-to-one messages (text or custom) and the per-user timelines that hold them
// (CONTRACT §2c): plain types shared by the store, the actors and both wire
// dialects, and the checks a message must pass before it is accepted.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/error_codes.hpp"

namespace chatd {

inline constexpr std::size_t max_text_bytes = 12 * 1024;
inline constexpr std::size_t max_client_msg_id_bytes = 64;

// An element the app defines and chatd carries untouched (Tencent's
// TIMCustomElem: Data, Desc, Ext): cards, bot buttons, typing status.
struct custom_element {
  std::string data;
  std::string description;
  std::string extension;
  std::size_t size() const { return data.size() + description.size() + extension.size(); }
  bool operator==(const custom_element&) const = default;
};

// A message as accepted: who, what, and the identifiers both dialects show.
// `time_ms` and `message_id` are set by the store when it commits (by the
// gateway for an online-only message, which is never stored).
struct chat_message {
  std::uint32_t sdkappid = 0;
  std::string from;
  std::string to;
  std::string text;                      // a text message's text; "" for a custom one
  std::optional<custom_element> custom;  // set: a custom message
  bool online_only = false;  // delivered to the recipient's online instances, never stored
  bool revoked = false;      // withdrawn: its text and custom element are gone
  std::string client_msg_id;
  std::string message_id;  // "{client_seq}_{random}_{time_s}": Tencent's MsgKey
  std::int64_t time_ms = 0;
  std::uint32_t random = 0;             // Tencent's MsgRandom, 0..99,999,999
  std::uint64_t client_seq = 0;         // Tencent's MsgSeq (the client's counter)
  std::int64_t client_time_s = 0;       // Tencent's MsgClientTime
  std::int64_t received_steady_ns = 0;  // when the send arrived; not stored
};

// `in`: a message sent to the timeline's owner; `out`: one the owner sent.
enum class message_flow : std::uint8_t { in, out };

// One entry of one user's timeline: the owner's seq and the shared message.
struct timeline_entry {
  std::uint64_t seq = 0;
  message_flow flow = message_flow::in;
  std::shared_ptr<const chat_message> message;

  const std::string& owner() const {
    return flow == message_flow::in ? message->to : message->from;
  }
  const std::string& peer() const { return flow == message_flow::in ? message->from : message->to; }
};

// 80002 unless 1..12 KiB of (already valid) UTF-8.
errc check_text(std::string_view text);
// 80002 unless a text message's text passes check_text, or a custom
// message's three fields together hold 1..12 KiB (Tencent's body limit).
errc check_body(const chat_message& m);

// "{client_seq}_{random}_{time_s}".
std::string message_key(std::uint64_t client_seq, std::uint32_t random, std::int64_t time_s);

// A MsgRandom for a message that did not bring one: 0..99,999,999.
std::uint32_t new_message_random();

}  // namespace chatd
