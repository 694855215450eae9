#include "gateway/rest_api.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>

#include "gateway/actor_ask.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/peer.hpp"
#include "gateway/rest_call.hpp"
#include "metrics/metrics.hpp"
#include "protocol/json_number.hpp"
#include "protocol/login_request.hpp"
#include "protocol/usersig.hpp"

namespace chatd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::size_t max_accounts_per_query = 500;

std::string envelope(const rest_result& r) {
  json::object out;
  out["ActionStatus"] = r.code == errc::ok ? "OK" : "FAIL";
  out["ErrorCode"] = code_number(r.code);
  out["ErrorInfo"] =
      r.code == errc::ok ? "" : (r.info.empty() ? std::string(message_of(r.code)) : r.info);
  for (const auto& [k, v] : r.fields)
    out[k] = v;
  return json::serialize(out);
}

asio::awaitable<outcome<std::size_t>> kick_live_instances(session_service& sessions,
                                                          std::uint32_t app, std::string user) {
  return ask<std::size_t>([&sessions, app, user](reply<std::size_t> done) {
    sessions.kick_user(app, user, kick_type::rest_api, std::move(done));
  });
}

asio::awaitable<outcome<std::vector<online_instance>>> online_of(session_service& sessions,
                                                                 std::uint32_t app,
                                                                 std::string user) {
  return ask<std::vector<online_instance>>(
      [&sessions, app, user](reply<std::vector<online_instance>> done) {
        sessions.online_instances(app, user, std::move(done));
      });
}

// The durable writes, on the store's thread. Plain functions, not
// coroutines: the captures live here, not in a coroutine frame.
asio::awaitable<outcome<std::int64_t>> durable_kick(gateway_backend& backend, std::uint32_t app,
                                                    std::string user) {
  return ask<std::int64_t>([&backend, app, user](reply<std::int64_t> done) {
    backend.record_kick(app, user, std::move(done));
  });
}

asio::awaitable<outcome<bool>> durable_import(gateway_backend& backend, std::uint32_t app,
                                              std::string user) {
  return ask<bool>([&backend, app, user](reply<bool> done) {
    backend.import_account(app, user, std::move(done));
  });
}

// The actors did not answer: a 70500 the caller sees, never a made-up value.
rest_result actors_failed(ask_error error) {
  return fail(errc::internal_error, error == ask_error::timeout
                                        ? "the session service did not answer in time"
                                        : "the session service is unavailable");
}

asio::awaitable<rest_result> rest_kick(rest_call& call) {
  auto user = user_id_field(call.body, "UserID");
  if (!user)
    co_return fail(errc::invalid_rest_parameter, "UserID must be a valid userID");
  auto& backend = call.context->backend;
  const auto app = call.app->sdkappid;
  if (!backend.account_known(app, *user)) {
    // In a cluster a login on another node may have made the account a
    // moment ago (its write is on its way here): online is known.
    const auto online = co_await online_of(call.context->sessions, app, *user);
    if (!online.ok())
      co_return actors_failed(online.error);
    if (online.value.empty())
      co_return fail(errc::account_not_found);
  }
  // Durable first: once we answer, the old sigs stay revoked across restarts.
  const auto recorded = co_await durable_kick(backend, app, *user);
  if (!recorded.ok())
    co_return store_failed();
  const auto kicked = co_await kick_live_instances(call.context->sessions, app, *user);
  if (!kicked.ok())
    co_return actors_failed(kicked.error);
  spdlog::info("rest kick app={} user={} instances={}", app, *user, kicked.value);
  co_return rest_result{};
}

asio::awaitable<rest_result> rest_account_import(rest_call& call) {
  auto user = user_id_field(call.body, "UserID");
  if (!user)
    co_return fail(errc::invalid_rest_parameter, "UserID must be a valid userID");
  auto& backend = call.context->backend;
  const auto imported = co_await durable_import(backend, call.app->sdkappid, *user);
  co_return imported.ok() ? rest_result{} : store_failed();
}

json::object detail_of(const std::vector<online_instance>& instances) {
  json::array detail;
  for (const auto& i : instances)
    detail.push_back(json::object{{"Platform", platform_name(i.platform)},
                                  {"Status", "Online"},
                                  {"InstanceID", i.instance_id}});
  return {{"Detail", std::move(detail)}};
}

json::object not_found(const json::value& entry) {
  return {{"To_Account", entry}, {"ErrorCode", code_number(errc::account_not_found)}};
}

asio::awaitable<rest_result> rest_query_online_status(rest_call& call) {
  const auto* to = call.body.if_contains("To_Account");
  if (to == nullptr || !to->is_array())
    co_return fail(errc::invalid_rest_parameter, "To_Account must be an array of userIDs");
  if (to->get_array().size() > max_accounts_per_query)
    co_return fail(errc::invalid_account_count);
  bool need_detail = false;
  if (const auto* d = call.body.if_contains("IsNeedDetail"); d != nullptr && d->is_number())
    need_detail = exact_integer(*d).value_or(0) != 0;
  json::array results;
  json::array errors;
  auto& backend = call.context->backend;
  for (const auto& entry : to->get_array()) {
    if (!entry.is_string() || !is_valid_user_id(entry.get_string())) {
      errors.push_back(not_found(entry));
      continue;
    }
    const std::string user(entry.get_string());
    const auto online = co_await online_of(call.context->sessions, call.app->sdkappid, user);
    if (!online.ok())
      co_return actors_failed(online.error);
    // Online is known: in a cluster the account a login made on another
    // node a moment ago may not have reached this node's cache yet.
    if (online.value.empty() && !backend.account_known(call.app->sdkappid, user)) {
      errors.push_back(not_found(entry));
      continue;
    }
    json::object result{{"To_Account", user},
                        {"Status", online.value.empty() ? "Offline" : "Online"}};
    if (need_detail)
      result["Detail"] = detail_of(online.value).at("Detail");
    results.push_back(std::move(result));
  }
  rest_result out;
  out.fields["QueryResult"] = std::move(results);
  if (!errors.empty())
    out.fields["ErrorList"] = std::move(errors);
  co_return out;
}

// Checks one client on its own strand; aborts its link (a TCP reset, no
// close frame, no kick) when it carries the user.
asio::awaitable<outcome<bool>> drop_if_user(std::shared_ptr<peer> c, std::uint32_t app,
                                            std::string user) {
  return ask<bool>([c, app, user](reply<bool> done) {
    asio::post(c->link().strand(), [c, app, user, done] {
      const auto& login = c->login();
      const bool match = login && login->sdkappid == app && login->user_id == user;
      if (match)
        c->link().abort();
      done(match);
    });
  });
}

// Not in Tencent's API: drops a user's connections as a network failure
// would, so that operators (and tests) can exercise client reconnects.
asio::awaitable<rest_result> rest_drop_connections(rest_call& call) {
  auto user = user_id_field(call.body, "UserID");
  if (!user)
    co_return fail(errc::invalid_rest_parameter, "UserID must be a valid userID");
  std::int64_t dropped = 0;
  for (auto& c : call.context->peers.snapshot()) {
    const auto answer = co_await drop_if_user(c, call.app->sdkappid, *user);
    dropped += answer.value ? 1 : 0;
  }
  spdlog::info("rest drop_connections app={} user={} connections={}", call.app->sdkappid, *user,
               dropped);
  co_return rest_result{errc::ok, {}, {{"Dropped", dropped}}};
}

struct rest_entry {
  std::string_view path;
  rest_handler handler;
};

constexpr std::array rest_table{
    rest_entry{"/v4/im_open_login_svc/kick", rest_kick},
    rest_entry{"/v4/im_open_login_svc/account_import", rest_account_import},
    rest_entry{"/v4/openim/query_online_status", rest_query_online_status},
    rest_entry{"/v4/openim/sendmsg", rest_sendmsg},
    rest_entry{"/v4/openim/admin_getroammsg", rest_admin_getroammsg},
    rest_entry{"/v4/openim/admin_msgwithdraw", rest_admin_msgwithdraw},
    rest_entry{"/v4/recentcontact/get_list", rest_recent_contacts},
    rest_entry{"/v4/openim/get_c2c_unread_msg_num", rest_c2c_unread_count},
    rest_entry{"/v4/openim/admin_set_msg_read", rest_set_msg_read},
    rest_entry{"/v4/profile/portrait_get", rest_portrait_get},
    rest_entry{"/v4/profile/portrait_set", rest_portrait_set},
    rest_entry{"/v4/chatd_admin/get_login_config", rest_get_login_config},
    rest_entry{"/v4/chatd_admin/set_login_config", rest_set_login_config},
    rest_entry{"/v4/chatd_admin/drop_connections", rest_drop_connections},
};

// Admin auth: the identifier must be the app's admin, signing with a valid
// UserSig of its own.
rest_result authenticate(const boost::urls::params_view& params, gateway_backend& backend,
                         std::shared_ptr<const app_config>& app) {
  auto sdkappid = params.find("sdkappid");
  if (sdkappid == params.end() || !(*sdkappid).has_value || (*sdkappid).value.empty())
    return fail(errc::sdkappid_missing);
  std::uint32_t id = 0;
  try {
    id = static_cast<std::uint32_t>(std::stoul((*sdkappid).value));
  } catch (const std::exception&) {
    return fail(errc::sdkappid_not_found);
  }
  app = backend.find_app(id);
  if (!app)
    return fail(errc::sdkappid_not_found);
  auto identifier = params.find("identifier");
  if (identifier == params.end() || (*identifier).value != app->admin)
    return fail(errc::not_admin);
  auto sig = params.find("usersig");
  const std::string user_sig = sig == params.end() ? "" : std::string((*sig).value);
  const auto now_ms = wall_clock_ms();
  auto verdict = usersig::verify(user_sig, {id, app->admin, app->secret_key}, now_ms / 1000);
  if (verdict.code == errc::ok) {
    if (revoked_by_kick(verdict.claims.time, backend.kick_time_s(id, app->admin)))
      verdict.code = errc::usersig_revoked;
  }
  return fail(verdict.code);
}

}  // namespace

bool is_rest_target(std::string_view target) {
  return target.starts_with("/v4/");
}

void declare_rest_metrics() {
  for (const auto& entry : rest_table)
    metrics::declare_rest_command(entry.path.substr(4));
}

// A handler that throws (the store could not write: a full disk) answers
// 70500: the change was not made, and is never acknowledged.
asio::awaitable<rest_result> run_handler(rest_handler handler, rest_call& call) {
  try {
    co_return co_await handler(call);
  } catch (const std::exception& e) {
    spdlog::error("rest: {}", e.what());
    co_return fail(errc::internal_error, "the server could not complete the request");
  }
}

asio::awaitable<std::string> handle_rest(std::shared_ptr<gateway_context> context,
                                         std::string target, std::string body) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    metrics::rest_call("unknown", errc::invalid_rest_command);
    co_return envelope(fail(errc::invalid_rest_command, "cannot parse the URL"));
  }
  const std::string path(url->path());
  auto entry = std::find_if(rest_table.begin(), rest_table.end(),
                            [&](const rest_entry& e) { return e.path == path; });
  if (entry == rest_table.end()) {
    metrics::rest_call("unknown", errc::invalid_rest_command);
    co_return envelope(fail(errc::invalid_rest_command, "unknown REST command " + path));
  }
  const auto command = entry->path.substr(4);  // "service/command", a bounded label
  rest_call call{context, nullptr, {}};
  auto result = authenticate(url->params(), context->backend, call.app);
  if (result.code == errc::ok && !body.empty()) {
    boost::system::error_code ec;
    auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object())
      result = fail(errc::bad_json);
    else
      call.body = std::move(parsed.as_object());
  }
  if (result.code == errc::ok)
    result = co_await run_handler(entry->handler, call);
  metrics::rest_call(command, result.code);
  co_return envelope(result);
}

}  // namespace chatd
