// Plain types shared by the actors and their callers: instances, kicks and the
// sink through which an instance's fate reaches its connection. No CAF here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/error_codes.hpp"
#include "protocol/kick.hpp"
#include "protocol/message.hpp"
#include "protocol/platform.hpp"

namespace chatd {

struct instance_ref {
  chatd::platform platform = chatd::platform::web;
  std::string instance_id;
};

struct kick_notice {
  kick_type type = kick_type::multiple_account;
  std::optional<instance_ref> by;  // the instance that caused it, if any
};

// What a user's instances are told besides their timeline entries.
enum class notice_kind : std::uint8_t {
  read_by_self,  // another instance of the user read the conversation with `peer`
  read_by_peer,  // `peer` read the conversation with the user (a read receipt)
  revoked,       // a message of the conversation with `peer` was withdrawn
};

struct user_notice {
  notice_kind kind = notice_kind::read_by_self;
  std::string peer;
  std::int64_t time_ms = 0;  // read up to this time; revoked: the message's time
  // revoked: which message, as the user's timeline and Tencent's SDK name it.
  bool outgoing = false;  // the user's own message (else the peer's)
  std::uint64_t seq = 0;  // in the user's timeline (0: not in it)
  std::string message_id;
  std::uint64_t client_seq = 0;
  std::uint32_t random = 0;
};

// Receives what happens to one logged-in instance. Implemented by the gateway;
// called from actor threads, so implementations must be thread-safe.
class instance_sink {
 public:
  virtual ~instance_sink() = default;
  // The instance was kicked; called at most once, and never after lost().
  virtual void kicked(const kick_notice& notice) = 0;
  // The instance's session actor died without a kick (a bug or shutdown).
  virtual void lost() = 0;
  // A live entry of the user's timeline, in seq order; never after kicked()
  // or lost(). The connection drops what it has already delivered.
  virtual void message(const timeline_entry& entry) = 0;
  // A notice for the user's instances; never after kicked() or lost().
  virtual void notice(const user_notice&) {}
};

}  // namespace chatd
