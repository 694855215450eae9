// How one wire protocol says what happens to an instance (the native JSON
// protocol, the Tencent Web SDK's {head, body}): one codec per client,
// chosen at upgrade, which also runs the protocol's op table. Its answers
// to requests are its own (native_codec.hpp, sdk_codec.hpp).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "actors/instance.hpp"
#include "protocol/message.hpp"

namespace chatd {

class peer;

class wire_codec {
 public:
  virtual ~wire_codec() = default;
  // Parses one message and runs its op (op table of the protocol).
  virtual void dispatch(const std::shared_ptr<peer>& self, std::string payload, bool binary) = 0;
  // The instance was kicked (it is offline already).
  virtual void kicked(peer& self, const kick_notice& notice) = 0;
  // Its session was lost (it is offline already).
  virtual void lost(peer& self) = 0;
  // Timeline entries for the instance, in seq order (recorded as delivered
  // by the caller).
  virtual void entries(peer& self, std::span<const timeline_entry> entries) = 0;
  // A notice for the instance (a read on another instance, a read receipt).
  virtual void notice(peer& self, const user_notice& notice) = 0;
  // The server shuts down while the instance is online (before close 1001).
  virtual void shutting_down(peer& self) = 0;
};

// The codecs, for the upgrade to pick from.
std::unique_ptr<wire_codec> make_native_codec();
std::unique_ptr<wire_codec> make_sdk_codec();

}  // namespace chatd
