// A lean, callback-driven native-protocol connection for chat-loadgen's
// message mode: it logs in once, then sends sendMessage ops and reports
// answers and messageReceived events. Raw socket and chatd's own frame codec
// (as churn_cycle), writes gathered into one buffer per flush.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "churn_cycle.hpp"

namespace chatd::loadgen {

struct message_link_handlers {
  std::function<void(int code)> logged_in;  // the login's code, once ready (or failed: -1)
  std::function<void(std::uint64_t op, int code, std::uint64_t seq)> answered;  // sendMessage
  std::function<void(std::string_view text, std::uint64_t seq)> received;  // messageReceived (in)
  std::function<void()> lost;                                              // the connection ended
};

class message_link;

std::shared_ptr<message_link> open_message_link(boost::asio::io_context& io, cycle_target target,
                                                std::string login_data,
                                                message_link_handlers handlers);

// Sends {"op":"sendMessage","seq":op,"data":{"to":to,"text":text}}.
void send_message(message_link& link, std::uint64_t op, std::string_view to, std::string_view text);
void close_link(message_link& link);

}  // namespace chatd::loadgen
