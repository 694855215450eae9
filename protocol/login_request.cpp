#include "protocol/login_request.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace chatd {
namespace json = boost::json;

namespace {

bool absent(const json::value* v) {
  return v == nullptr || v->is_null();
}

std::variant<std::uint32_t, errc> read_sdkappid(const json::value* v) {
  if (absent(v))
    return errc::no_sdkappid;
  std::int64_t number = -1;
  if (v->is_int64())
    number = v->get_int64();
  else if (v->is_uint64())
    number = v->get_uint64() > UINT32_MAX ? -1 : static_cast<std::int64_t>(v->get_uint64());
  if (number <= 0 || number > static_cast<std::int64_t>(UINT32_MAX))
    return errc::invalid_parameter;
  return static_cast<std::uint32_t>(number);
}

}  // namespace

bool is_valid_user_id(std::string_view user_id) {
  return !user_id.empty() && user_id.size() <= max_user_id_bytes &&
         std::all_of(user_id.begin(), user_id.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

std::variant<login_request, errc> parse_login_request(const json::object& data) {
  login_request out;
  auto sdkappid = read_sdkappid(data.if_contains("SDKAppID"));
  if (auto* code = std::get_if<errc>(&sdkappid))
    return *code;
  out.sdkappid = std::get<std::uint32_t>(sdkappid);

  const auto* user = data.if_contains("userID");
  if (absent(user))
    return errc::no_identifier;
  if (!user->is_string() || !is_valid_user_id(user->get_string()))
    return errc::invalid_identifier;
  out.user_id = std::string(user->get_string());

  const auto* sig = data.if_contains("userSig");
  if (absent(sig))
    return errc::no_usersig;
  if (!sig->is_string())
    return errc::usersig_malformed;
  out.user_sig = std::string(sig->get_string());

  if (const auto* p = data.if_contains("platform"); !absent(p)) {
    auto parsed = p->is_string() ? parse_platform(p->get_string()) : std::nullopt;
    if (!parsed)
      return errc::invalid_parameter;
    out.platform = *parsed;
  }
  if (const auto* name = data.if_contains("deviceName"); !absent(name)) {
    if (!name->is_string() || name->get_string().size() > max_device_name_bytes)
      return errc::invalid_parameter;
    out.device_name = std::string(name->get_string());
  }
  if (const auto* from = data.if_contains("syncFromSeq"); !absent(from)) {
    if (from->is_uint64())
      out.sync_from_seq = from->get_uint64();
    else if (from->is_int64() && from->get_int64() >= 0)
      out.sync_from_seq = static_cast<std::uint64_t>(from->get_int64());
    else
      return errc::invalid_parameter;
  }
  return out;
}

namespace {

// 70020, 60020, 2801, 70050: what holds for the app and user whatever the credential.
errc check_app_and_user(const login_context& context) {
  const app_config* app = context.app;
  if (app == nullptr)
    return errc::sdkappid_not_found;
  if (app->package_expire_at_ms != 0 && context.now_ms >= app->package_expire_at_ms)
    return errc::package_expired;
  const auto& origins = app->allowed_origins;
  if (!origins.empty() &&
      std::find(origins.begin(), origins.end(), context.origin) == origins.end())
    return errc::origin_not_allowed;
  if (context.user_locked)
    return errc::user_locked;
  return errc::ok;
}

}  // namespace

errc check_relogin(bool a2_valid, std::int64_t issued_at_s, std::int64_t sig_expires_at_ms,
                   const login_context& context) {
  if (auto code = check_app_and_user(context); code != errc::ok)
    return code;
  if (!a2_valid)
    return errc::usersig_malformed;
  if (context.now_ms >= sig_expires_at_ms)
    return errc::usersig_expired;
  if (revoked_by_kick(issued_at_s, context.kick_time_s))
    return errc::usersig_revoked;
  return errc::ok;
}

login_verdict check_login(const login_request& request, const login_context& context) {
  login_verdict out;
  out.code = check_app_and_user(context);
  if (out.code != errc::ok)
    return out;
  const app_config* app = context.app;
  auto verdict =
      usersig::verify(request.user_sig, {request.sdkappid, request.user_id, app->secret_key},
                      context.now_ms / 1000);
  out.code = verdict.code;
  out.claims = std::move(verdict.claims);
  if (out.code == errc::ok && revoked_by_kick(out.claims.time, context.kick_time_s))
    out.code = errc::usersig_revoked;
  return out;
}

bool revoked_by_kick(std::int64_t issued_at_s, std::int64_t kick_time_s) {
  return kick_time_s != 0 && issued_at_s <= kick_time_s;
}

bool counts_as_failed_verification(errc code) {
  switch (code) {
    case errc::usersig_malformed:
    case errc::usersig_sdkappid_mismatch:
    case errc::usersig_identifier_mismatch:
    case errc::usersig_key_mismatch:
      return true;
    default:
      return false;
  }
}

}  // namespace chatd
