// Scenario coroutines against a real chatd for the client tests: each runs
// on a fresh io_context and chatd process, bounded in time
// (coroutine_test.hpp has the GCC 12 rules they follow).
#pragma once

#include "chatd_process.hpp"
#include "coroutine_test.hpp"

namespace chatd::test {

using scenario = asio::awaitable<void> (*)(asio::io_context&, chatd::test::chatd_process&);

// Runs one scenario coroutine on a fresh io_context and chatd process.
inline void run_scenario(scenario body, const std::string& app_extra = "") {
  chatd::test::chatd_process server(app_extra);
  asio::io_context io;
  run_bounded(io, body(io, server));
}

}  // namespace chatd::test
