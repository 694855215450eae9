#include "gateway/native_codec.hpp"

#include "gateway/ops.hpp"
#include "gateway/peer.hpp"
#include "metrics/metrics.hpp"
#include "protocol/frame.hpp"

namespace chatd {
namespace json = boost::json;

std::unique_ptr<wire_codec> make_native_codec() {
  return std::make_unique<native_codec>();
}

void native_codec::dispatch(const std::shared_ptr<peer>& self, std::string payload, bool binary) {
  if (binary) {
    metrics::connection_failed(metrics::connection_error::binary_frame);
    self->link().close(websocket::close_code::unsupported_data, "binary frames are not supported");
    return;
  }
  run_native_op(self, std::move(payload));
}

void native_codec::respond(peer& self, std::uint64_t seq, errc code, json::object data,
                           std::string_view message) {
  self.link().send(message.empty() ? frame::encode_response(seq, code, std::move(data))
                                   : frame::encode_response(seq, code, message, std::move(data)));
}

void native_codec::event(peer& self, std::string_view name, json::object data) {
  self.link().send(frame::encode_event(name, std::move(data)));
}

void native_codec::ready(peer& self, const active_login& login) {
  event(self, "sdkStateReady", {{"userID", login.user_id}, {"instanceID", login.instance_id}});
}

void native_codec::kicked(peer& self, const kick_notice& notice) {
  json::object data;
  data["type"] = kick_type_name(notice.type);
  if (notice.by) {
    data["by"] = json::object{{"platform", platform_name(notice.by->platform)},
                              {"instanceID", notice.by->instance_id}};
  }
  event(self, "kickedOut", std::move(data));
  event(self, "sdkStateNotReady", {{"reason", code_number(not_ready_reason(notice.type))}});
}

void native_codec::lost(peer& self) {
  event(self, "sdkStateNotReady", {{"reason", code_number(errc::internal_error)}});
}

void native_codec::entries(peer& self, std::span<const timeline_entry> entries) {
  for (const auto& entry : entries)
    self.link().send(frame::encode_message_event(entry));
}

// conversationRead: this user read the conversation with userID on another
// instance; messageReadByPeer: userID read this user's messages.
void native_codec::notice(peer& self, const user_notice& notice) {
  if (notice.kind == notice_kind::revoked) {
    const auto& me = self.login()->user_id;
    event(self, "messageRevoked",
          {{"from", notice.outgoing ? me : notice.peer},
           {"to", notice.outgoing ? notice.peer : me},
           {"messageID", notice.message_id},
           {"seq", notice.seq},
           {"time", notice.time_ms}});
    return;
  }
  const bool own = notice.kind == notice_kind::read_by_self;
  event(self, own ? "conversationRead" : "messageReadByPeer",
        {{"userID", notice.peer}, {"readTime", notice.time_ms}});
}

void native_codec::shutting_down(peer& self) {
  event(self, "sdkStateNotReady", {{"reason", code_number(errc::logged_out)}});
}

}  // namespace chatd
