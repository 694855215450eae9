// Internal to gateway/: one running servcmd of the Tencent SDK protocol, as
// its handler sees it, and the handlers kept outside sdk_ops.cpp (which
// holds the table).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/connection.hpp"
#include "gateway/peer.hpp"
#include "gateway/sdk_codec.hpp"
#include "protocol/json_strings.hpp"
#include "protocol/sdk_frame.hpp"

namespace chatd {

struct sdk_call {
  std::shared_ptr<peer> self;
  sdk_codec& codec;
  sdk::request request;
  connection::op_token token;  // while the op runs

  void reply(errc code, boost::json::object fields = {}, std::string_view info = {}) const {
    codec.reply(*self, request, code, std::move(fields), info);
  }
  void refuse(errc code) const { reply(code); }
  // For servcmds marked needs_login, checked before they run.
  const active_login& login() const { return *self->login(); }
  gateway_context& context() const { return self->context(); }
};

std::int64_t body_integer(const boost::json::object& body, std::string_view key,
                          std::int64_t fallback);

// profile.portrait_get_all, profile.portrait_set (sdk_profile_ops.cpp).
boost::asio::awaitable<void> sdk_portrait_get(sdk_call& call);
boost::asio::awaitable<void> sdk_portrait_set(sdk_call& call);

// recentcontact.page_get, openim.msgreaded, openim.get_peer_read_time
// (sdk_conversation_ops.cpp), and the unread counts a sync carries.
boost::asio::awaitable<void> sdk_recent_contacts(sdk_call& call);
boost::asio::awaitable<void> sdk_msg_readed(sdk_call& call);
boost::asio::awaitable<void> sdk_peer_read_time(sdk_call& call);
boost::asio::awaitable<void> sdk_peer_mute_flags(sdk_call& call);
// C2CPairUnreadCount: [{From_Account, UnreadCount}] of every conversation
// with something unread (empty if the store did not answer).
boost::asio::awaitable<boost::json::array> pair_unread_counts(sdk_call& call);

}  // namespace chatd
