// Internal to gateway/: what one admin REST call sees and answers, shared by
// the command handlers (rest_api.cpp, rest_messages.cpp, rest_login_config.cpp).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>

#include "gateway/gateway_context.hpp"
#include "protocol/app_config.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/login_request.hpp"

namespace chatd {

namespace json = boost::json;

struct rest_call {
  std::shared_ptr<gateway_context> context;
  std::shared_ptr<const app_config> app;
  json::object body;
};

// A finished call: its code, an optional more precise ErrorInfo, and fields.
struct rest_result {
  errc code = errc::ok;
  std::string info;
  json::object fields;
};

inline rest_result fail(errc code, std::string info = {}) {
  return {code, std::move(info), {}};
}

inline std::optional<std::string> user_id_field(const json::object& body, std::string_view name) {
  const auto* v = body.if_contains(name);
  if (v == nullptr || !v->is_string() || !is_valid_user_id(v->get_string()))
    return std::nullopt;
  return std::string(v->get_string());
}

// The store refused or did not answer: not written, never acknowledged.
inline rest_result store_failed() {
  return fail(errc::internal_error, "the server could not complete the request");
}

using rest_handler = boost::asio::awaitable<rest_result> (*)(rest_call&);

// openim/sendmsg and openim/admin_getroammsg (rest_messages.cpp).
boost::asio::awaitable<rest_result> rest_sendmsg(rest_call& call);
boost::asio::awaitable<rest_result> rest_admin_getroammsg(rest_call& call);
boost::asio::awaitable<rest_result> rest_admin_msgwithdraw(rest_call& call);

// recentcontact/get_list, openim/get_c2c_unread_msg_num and
// openim/admin_set_msg_read (rest_conversations.cpp).
boost::asio::awaitable<rest_result> rest_recent_contacts(rest_call& call);
boost::asio::awaitable<rest_result> rest_c2c_unread_count(rest_call& call);
boost::asio::awaitable<rest_result> rest_set_msg_read(rest_call& call);

// profile/portrait_get and portrait_set (rest_profiles.cpp).
boost::asio::awaitable<rest_result> rest_portrait_get(rest_call& call);
boost::asio::awaitable<rest_result> rest_portrait_set(rest_call& call);

// chatd_admin/get_login_config and set_login_config (rest_login_config.cpp).
boost::asio::awaitable<rest_result> rest_get_login_config(rest_call& call);
boost::asio::awaitable<rest_result> rest_set_login_config(rest_call& call);

}  // namespace chatd
