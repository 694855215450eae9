// Internal to store/: a timeline row as SQLite gives it back (the columns
// selected and how they are read), for the store's own connection and the
// conversation readers alike.
#pragma once

#include <memory>

#include "store/message_store.hpp"
#include "store/sqlite_util.hpp"

namespace chatd::sqlite {

inline constexpr const char* timeline_columns =
    "seq, flow, sender, recipient, text, client_msg_id, message_id, time_ms, random, "
    "client_seq, client_time, custom, custom_data, custom_description, custom_extension, revoked";

// The entry in the first 16 columns of `row` (timeline_columns, in order).
inline timeline_entry read_timeline_entry(const statement& row, std::uint32_t sdkappid) {
  auto message = std::make_shared<chat_message>();
  message->sdkappid = sdkappid;
  message->from = row.text(2);
  message->to = row.text(3);
  message->text = row.text(4);
  message->client_msg_id = row.text(5);
  message->message_id = row.text(6);
  message->time_ms = row.integer(7);
  message->random = static_cast<std::uint32_t>(row.integer(8));
  message->client_seq = static_cast<std::uint64_t>(row.integer(9));
  message->client_time_s = row.integer(10);
  if (row.integer(11) != 0)
    message->custom = custom_element{row.text(12), row.text(13), row.text(14)};
  message->revoked = row.integer(15) != 0;
  const auto flow = row.integer(1) == 0 ? message_flow::in : message_flow::out;
  return timeline_entry{static_cast<std::uint64_t>(row.integer(0)), flow, std::move(message)};
}

}  // namespace chatd::sqlite
