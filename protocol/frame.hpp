// The JSON frame codec of the native client protocol (CONTRACT §2).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/object.hpp>

#include "protocol/error_codes.hpp"
#include "protocol/message.hpp"

namespace chatd::frame {

struct request {
  std::uint64_t seq = 0;
  std::string op;
  boost::json::object data;
};

// A frame we could not accept; answered with `code`, echoing `seq` if readable.
struct rejection {
  std::uint64_t seq = 0;
  errc code = errc::bad_json;
};

std::variant<request, rejection> parse_request(std::string_view text);

std::string encode_response(std::uint64_t seq, errc code, boost::json::object data = {});
// For a failure whose message says more than the table (e.g. which user).
std::string encode_response(std::uint64_t seq, errc code, std::string_view message,
                            boost::json::object data = {});
std::string encode_event(std::string_view event, boost::json::object data);
// The messageReceived event of one timeline entry (CONTRACT §2), and its data.
std::string encode_message_event(const timeline_entry& entry);
// `storage`: where the object's memory comes from (a request's arena).
boost::json::object message_data(const timeline_entry& entry,
                                 boost::json::storage_ptr storage = {});
// A sendMessage's content into `m`: `text`, or `custom` ({data,
// description, extension}, strings), and `onlineOnly`. 80002 if it has
// neither or both; the sizes are checked by check_body.
errc read_message_content(const boost::json::object& data, chat_message& m);

}  // namespace chatd::frame
