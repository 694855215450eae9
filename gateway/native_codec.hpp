// The native JSON protocol (/v1/ws, docs/PROTOCOL.md): requests
// {seq, op, data} answered {seq, code, message, data}; what happens to the
// instance as events (sdkStateReady, kickedOut, sdkStateNotReady,
// messageReceived). Its op table is ops.cpp.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string_view>

#include "gateway/wire_codec.hpp"
#include "protocol/error_codes.hpp"

namespace chatd {

struct active_login;

class native_codec final : public wire_codec {
 public:
  void dispatch(const std::shared_ptr<peer>& self, std::string payload, bool binary) override;
  void kicked(peer& self, const kick_notice& notice) override;
  void lost(peer& self) override;
  void entries(peer& self, std::span<const timeline_entry> entries) override;
  void notice(peer& self, const user_notice& notice) override;
  void shutting_down(peer& self) override;

  // The answer to the request `seq`.
  static void respond(peer& self, std::uint64_t seq, errc code, boost::json::object data = {},
                      std::string_view message = {});
  static void event(peer& self, std::string_view name, boost::json::object data);
  // The instance is ready (after its login's answer).
  static void ready(peer& self, const active_login& login);
};

}  // namespace chatd
