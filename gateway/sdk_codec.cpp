#include "gateway/sdk_codec.hpp"

#include <boost/json/array.hpp>
#include <cstdlib>

#include "gateway/peer.hpp"
#include "gateway/sdk_ops.hpp"

namespace chatd {
namespace json = boost::json;

std::unique_ptr<wire_codec> make_sdk_codec() {
  return std::make_unique<sdk_codec>();
}

void sdk_codec::dispatch(const std::shared_ptr<peer>& self, std::string payload, bool) {
  run_sdk_op(self, *this, std::move(payload));
}

void sdk_codec::reply(peer& self, const sdk::request& request, errc code, json::object fields,
                      std::string_view info) {
  if (code == errc::ok && std::exchange(sig_expired_unreported_, false)) {
    code = errc::usersig_expired;
    fields = {};
  }
  self.link().send(sdk::encode_reply(request, code, std::move(fields), info));
}

void sdk_codec::sync_notify(peer& self) {
  self.link().send(sdk::encode_sync_notify(++push_seq_));
}

// The SDK learns of kicks by a stat_forceoffline push, and of an expired sig
// by ErrorCode 70001 on its next request (a heartbeat comes within 10 s).
void sdk_codec::kicked(peer& self, const kick_notice& notice) {
  if (notice.type == kick_type::usersig_expired) {
    sig_expired_unreported_ = true;
    return;
  }
  std::uint64_t by = 0;
  if (notice.by)
    by = std::strtoull(notice.by->instance_id.c_str(), nullptr, 10);
  self.link().send(sdk::encode_kick_push(notice.type, by, ++push_seq_));
}

// The SDK reconnects and logs in again with its A2: a transparent recovery.
void sdk_codec::lost(peer& self) {
  self.link().close(websocket::close_code::internal_error, "session lost");
}

void sdk_codec::entries(peer& self, std::span<const timeline_entry> entries) {
  json::array items;
  for (const auto& entry : entries)
    items.push_back(sdk::message_item(entry));
  const auto last = std::to_string(entries.back().seq);
  self.link().send(sdk::encode_message_push(std::move(items), ++push_seq_, last));
}

void sdk_codec::notice(peer& self, const user_notice& notice) {
  if (notice.kind != notice_kind::revoked) {
    self.link().send(sdk::encode_read_notice(notice.kind == notice_kind::read_by_self, notice.peer,
                                             notice.time_ms / 1000, ++push_seq_));
    return;
  }
  const auto& me = self.login()->user_id;
  self.link().send(sdk::encode_revoke_notice(
      {notice.outgoing ? me : notice.peer, notice.outgoing ? notice.peer : me, notice.client_seq,
       notice.random, notice.time_ms / 1000},
      ++push_seq_));
}

// The SDK is told nothing: the link closes (1001) and it reconnects.
void sdk_codec::shutting_down(peer&) {}

}  // namespace chatd
