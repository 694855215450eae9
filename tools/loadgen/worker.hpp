// One chat-loadgen worker process: drives its share of the simulated users
// on one single-threaded io_context and returns its report.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "report.hpp"

namespace chatd::loadgen {

struct settings {
  std::string url = "ws://127.0.0.1:8080/v1/ws";
  std::uint32_t sdkappid = 1400000000;
  std::string key;
  std::string admin = "administrator";
  std::string mode = "login-hold";  // login-hold | churn | kick-storm | message
  int users = 1000;
  int instances_per_user = 1;
  std::vector<std::pair<std::string, int>> platform_mix{{"Web", 100}};
  double rate = 1000;  // logins (message mode: messages) per second, all workers together
  std::chrono::seconds hold{10};
  std::chrono::seconds duration{10};  // churn, message
  int workers = 1;
  int worker_index = 0;
  int source_ips = 0;  // spread over 127.0.0.2 .. 127.0.0.(1+N); 0 = system choice
  std::string user_prefix = "lg";
  int audit_sample = 100;
  int max_in_flight = 2000;  // churn: cycles, message: sends, at once per worker
};

// `progress` receives a small JSON object about once a second.
report run_worker(const settings& s,
                  const std::function<void(const boost::json::object&)>& progress);

}  // namespace chatd::loadgen
