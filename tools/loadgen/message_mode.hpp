// chat-loadgen --mode message: senders send to receivers at a rate, over
// lean raw-socket links; measures acknowledged messages/s, send-to-receive
// and send-to-answer latency, and audits that every acknowledged message
// reached its receiver exactly once, in seq order.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <functional>

#include "report.hpp"
#include "worker.hpp"

namespace chatd::loadgen {

// Runs on `io` (single-threaded) until done; fills `r`.
void run_message_mode(boost::asio::io_context& io, const settings& s,
                      const std::function<std::string(const std::string&)>& sig_for,
                      const std::function<void(const boost::json::object&)>& progress, report& r);

}  // namespace chatd::loadgen
