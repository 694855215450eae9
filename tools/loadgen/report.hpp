// chat-loadgen's measurements: what a worker records and how worker reports
// merge. JSON in and out (Boost.JSON).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace chatd::loadgen {

struct report {
  std::string mode;
  double elapsed_s = 0;
  double ramp_s = 0;
  std::int64_t attempts = 0;
  std::int64_t logins_ok = 0;
  std::map<int, std::int64_t> failures;       // by code
  std::map<std::string, std::int64_t> kicks;  // by type
  std::vector<double> login_latency_ms;       // connect + upgrade + login + ready
  std::vector<double> kick_latency_ms;        // new instance ready -> old instance kickedOut
  std::int64_t held_peak = 0;                 // instances ready at once
  std::int64_t audit_sampled = 0;
  std::int64_t audit_violations = 0;
  std::string audit_source;        // "rest" or "clients"
  std::vector<std::string> notes;  // limits hit and the like

  // --mode message.
  double send_s = 0;  // how long the senders sent
  std::int64_t messages_sent = 0;
  std::int64_t messages_acked = 0;  // answered code 0: durable
  std::int64_t messages_received = 0;
  std::int64_t message_missing = 0;     // acknowledged, never received
  std::int64_t message_duplicates = 0;  // received more than once
  std::int64_t message_out_of_order = 0;
  std::vector<double> message_latency_ms;  // send -> the receiver's messageReceived
  std::vector<double> answer_latency_ms;   // send -> the sender's answer (durable)

  boost::json::object to_json(bool with_samples) const;
  static report from_json(const boost::json::object& o);
  void merge(const report& other);
};

double percentile(std::vector<double> samples, double p);

}  // namespace chatd::loadgen
