// The completion handler of every detached gateway coroutine: an exception
// that escapes one connection's coroutine is logged, never fatal.
#pragma once

#include <spdlog/spdlog.h>

#include <exception>

namespace chatd {

inline void log_coroutine_failure(std::exception_ptr error) {
  if (!error)
    return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("connection coroutine failed: {}", e.what());
  }
}

}  // namespace chatd
