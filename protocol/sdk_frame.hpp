// The subset of the official @tencentcloud/chat Web SDK wire protocol that
// chatd speaks on /binfo and /info (../shared/TENCENT-SDK-WIRE.md): one JSON
// object per WebSocket message, {"head":{..., "servcmd", "seq"}, "body":{...}},
// PascalCase bodies with ActionStatus / ErrorCode / ErrorInfo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "protocol/error_codes.hpp"
#include "protocol/kick.hpp"
#include "protocol/message.hpp"
#include "protocol/platform.hpp"

namespace chatd::sdk {

struct request {
  std::string servcmd;
  std::uint64_t seq = 0;
  boost::json::object head;
  boost::json::object body;
};

// nullopt unless the frame is an object with a head carrying servcmd and seq.
std::optional<request> parse(std::string_view text);

// A reply matched by servcmd + seq. `fields` join ActionStatus/ErrorCode/ErrorInfo.
std::string encode_reply(const request& to, errc code, boost::json::object fields = {},
                         std::string_view info = {});

// The kick push (servcmd im_open_status.stat_forceoffline): KickType 1
// multipleAccount, 2 multipleDevice, 3 REST_API_Kick. Sig expiry has no push:
// it is told by ErrorCode 70001 on the next reply.
std::string encode_kick_push(kick_type type, std::uint64_t new_instance, std::uint64_t push_seq);

// One timeline entry as a C2cMsgArray / MsgList item
// (TENCENT-SDK-MESSAGING §2): the same identifiers in pushes, syncs and
// roaming. Pushed, an `out` entry is shaped as the SDK expects a copy of
// its own message (IsSyncMsg 1, From_Account and To_Account swapped); in a
// getmsg sync and in history (getroammsg) it is as sent: the SDK reads its
// `flow` from From_Account there, and a swapped one showed as received.
enum class item_use : std::uint8_t {
  push,     // msg_push: the user's own messages as sync copies (the SDK swaps them back)
  as_sent,  // getmsg and getroammsg: every message as it was sent (read as written)
};
boost::json::object message_item(const timeline_entry& entry, item_use use = item_use::push);
// A C2C read notice (the user read the conversation with `peer` on another
// instance: ReadC2cMsgNotify) or receipt (`peer` read the user's messages:
// C2cReadedReceipt), up to `read_time_s`, in the kick push's event.
std::string encode_read_notice(bool read_by_self, std::string_view peer, std::int64_t read_time_s,
                               std::uint64_t push_seq);
// A withdrawn C2C message (WithdrawC2cMsgNotify), named as the SDK knows it.
struct revoked_item {
  std::string from;
  std::string to;
  std::uint64_t client_seq = 0;
  std::uint32_t random = 0;
  std::int64_t time_s = 0;
};
std::string encode_revoke_notice(const revoked_item& item, std::uint64_t push_seq);
// im_open_push.msg_push with NeedAck 1; `session_data` comes back in the ack.
std::string encode_message_push(boost::json::array items, std::uint64_t push_seq,
                                std::string_view session_data);
// A push with Flag 1 and an empty C2cMsgArray: "sync now" (the SDK answers
// with getmsg IsOnlineSync 1).
std::string encode_sync_notify(std::uint64_t push_seq);
// The content of an openim.sendmsg (or REST sendmsg) MsgBody, into `m`:
// its TIMTextElem texts joined, or its one TIMCustomElem (Data, Desc, Ext).
// False for anything else: no element, other types, custom mixed with text
// or repeated.
bool read_msg_body(const boost::json::value& msg_body, chat_message& m);
// A message's content as a MsgBody (an empty text for a revoked one).
boost::json::array msg_body(const chat_message& m);
// MsgLifeTime 0: an online-only message (the SDK's `onlineUserOnly`; absent
// means stored).
bool is_online_only(const boost::json::object& body);

// head.platform: 2 Android, 3 iPhone, 4 Mac; 7 (Web) and every mini-program,
// uni-app and React Native code are Web.
platform platform_of(const boost::json::object& head);

// A stable numeric TinyId for a user, as a decimal string.
std::string tiny_id(std::uint32_t sdkappid, std::string_view user_id);

// Telemetry servcmds: answered OK, logged at debug only.
bool is_telemetry(std::string_view servcmd);

}  // namespace chatd::sdk
