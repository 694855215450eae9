// Internal to gateway/: the shape of both wire protocols' op tables (ops.cpp,
// sdk_ops.cpp): a row per op name, and the one place where an op that
// needs a login is refused without one.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <memory>
#include <span>
#include <string_view>

#include "gateway/coroutine_errors.hpp"
#include "gateway/peer.hpp"
#include "protocol/error_codes.hpp"

namespace chatd {

// `Call` is what one op of a protocol sees: `self` (the peer) and
// `refuse(errc)`, its protocol's answer with that code.
template <class Call>
struct op_row {
  std::string_view name;
  boost::asio::awaitable<void> (*handler)(Call&);
  bool needs_login;  // else answered 2024 before it runs
};

template <class Call>
const op_row<Call>* find_op(std::span<const op_row<Call>> table, std::string_view name) {
  for (const auto& row : table)
    if (row.name == name)
      return &row;
  return nullptr;
}

// Runs an op as a coroutine on the peer's strand. The login is checked
// when it starts: it may have changed since the frame was read.
template <class Call>
boost::asio::awaitable<void> run_row(Call call, const op_row<Call>& row) {
  if (row.needs_login && !call.self->login()) {
    call.refuse(errc::not_logged_in);
    co_return;
  }
  co_await row.handler(call);
}

template <class Call>
void spawn_op(Call call, const op_row<Call>& row) {
  auto strand = call.self->link().strand();
  boost::asio::co_spawn(strand, run_row(std::move(call), row), log_coroutine_failure);
}

}  // namespace chatd
