// The Tencent Web SDK's protocol (/binfo binary frames, /info text frames;
// ../shared/TENCENT-SDK-WIRE.md): {head, body} requests answered by a reply
// echoing servcmd and seq; what happens to the instance as pushes (kicks,
// messages, "sync now") or, for an expired sig, as 70001 on the next reply.
// Its servcmd table is sdk_ops.cpp.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string_view>

#include "gateway/wire_codec.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/sdk_frame.hpp"

namespace chatd {

class sdk_codec final : public wire_codec {
 public:
  void dispatch(const std::shared_ptr<peer>& self, std::string payload, bool binary) override;
  void kicked(peer& self, const kick_notice& notice) override;
  void lost(peer& self) override;
  void entries(peer& self, std::span<const timeline_entry> entries) override;
  void notice(peer& self, const user_notice& notice) override;
  void shutting_down(peer& self) override;

  // The reply to `request`. Once the instance's sig has expired, the next
  // OK reply says 70001 instead, which the SDK turns into KICKED_OUT
  // userSigExpired.
  void reply(peer& self, const sdk::request& request, errc code, boost::json::object fields = {},
             std::string_view info = {});
  // A push that tells the SDK to sync (openim.getmsg) now.
  void sync_notify(peer& self);
  // A login: a sig expiry of an earlier one is not reported.
  void logged_in() { sig_expired_unreported_ = false; }

 private:
  std::uint64_t push_seq_ = 0;
  bool sig_expired_unreported_ = false;
};

}  // namespace chatd
