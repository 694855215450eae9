#include "protocol/error_codes.hpp"

#include <array>
#include <utility>

namespace chatd {
namespace {

struct code_entry {
  errc code;
  std::string_view message;
};

constexpr std::array code_table{
    code_entry{errc::ok, "OK"},
    code_entry{errc::no_sdkappid, "SDKAppID is missing"},
    code_entry{errc::no_identifier, "userID is missing"},
    code_entry{errc::no_usersig, "userSig is missing"},
    code_entry{errc::invalid_parameter, "invalid parameter"},
    code_entry{errc::not_logged_in, "the user has not logged in"},
    code_entry{errc::repeat_login, "a login is already in progress on this connection"},
    code_entry{errc::origin_not_allowed, "the Origin of this connection is not allowed"},
    code_entry{errc::invalid_operation, "unknown operation"},
    code_entry{errc::kicked_multiple_device, "kicked out: logged in on another device"},
    code_entry{errc::kicked_multiple_account, "kicked out: logged in on another web page"},
    code_entry{errc::kicked_usersig_expired, "kicked out: UserSig expired"},
    code_entry{errc::logged_out, "logged out"},
    code_entry{errc::kicked_rest_api, "kicked out by the REST API"},
    code_entry{errc::invalid_identifier, "userID must be 1..32 bytes of printable ASCII"},
    code_entry{errc::recipient_invalid, "the recipient is not a valid account"},
    code_entry{errc::revoke_window_passed,
               "the message is older than the revoke window (message_revoke_window_s)"},
    code_entry{errc::text_invalid,
               "the message must be 1 to 12 KiB: UTF-8 text, or one custom element"},
    code_entry{errc::profile_value_invalid,
               "a profile value has the wrong type or is not one of the field's values"},
    code_entry{errc::profile_account_unknown, "the user is not a known account"},
    code_entry{errc::profile_read_only, "this profile field cannot be set by a user"},
    code_entry{errc::profile_tag_unknown,
               "unknown profile tag (Tag_Profile_IM_* or Tag_Profile_Custom_ and 1 to 8 letters, "
               "digits or _)"},
    code_entry{errc::profile_value_too_long,
               "a profile value is too long (500 bytes; Location 16)"},
    code_entry{errc::bad_json, "request is not a valid JSON object"},
    code_entry{errc::too_many_requests, "too many login attempts from this address; retry later"},
    code_entry{errc::not_admin, "identifier is not an app admin"},
    code_entry{errc::sdkappid_missing, "sdkappid is missing"},
    code_entry{errc::invalid_rest_command, "unknown REST command"},
    code_entry{errc::package_expired, "the app's package has expired"},
    code_entry{
        errc::service_overload,
        "service unavailable: no node may admit this user now (its shard's lease is moving or "
        "cannot be reached); retry"},
    code_entry{errc::usersig_expired, "UserSig expired"},
    code_entry{errc::usersig_empty, "UserSig is empty"},
    code_entry{errc::usersig_malformed, "UserSig cannot be decoded"},
    code_entry{errc::usersig_key_mismatch, "UserSig was not signed with this app's key"},
    code_entry{errc::usersig_identifier_mismatch, "UserSig identifier does not match userID"},
    code_entry{errc::usersig_sdkappid_mismatch, "UserSig SDKAppID does not match"},
    code_entry{errc::sdkappid_not_found, "SDKAppID not found"},
    code_entry{errc::user_locked, "too many failed UserSig checks; retry in a minute"},
    code_entry{errc::usersig_revoked, "UserSig was issued before a kick; generate a new one"},
    code_entry{errc::account_not_found, "account not found"},
    code_entry{errc::invalid_account_count, "too many accounts in one request (at most 500)"},
    code_entry{errc::invalid_rest_parameter, "invalid parameter"},
    code_entry{errc::internal_error, "internal error"},
};

}  // namespace

bool can_end_a_login(errc code) {
  switch (code) {
    case errc::ok:
    case errc::no_sdkappid:
    case errc::no_identifier:
    case errc::no_usersig:
    case errc::invalid_parameter:
    case errc::repeat_login:
    case errc::origin_not_allowed:
    case errc::invalid_identifier:
    case errc::too_many_requests:
    case errc::package_expired:
    case errc::service_overload:
    case errc::usersig_expired:
    case errc::usersig_empty:
    case errc::usersig_malformed:
    case errc::usersig_key_mismatch:
    case errc::usersig_identifier_mismatch:
    case errc::usersig_sdkappid_mismatch:
    case errc::sdkappid_not_found:
    case errc::user_locked:
    case errc::usersig_revoked:
    case errc::internal_error:
      return true;
    default:
      return false;
  }
}

std::size_t code_count() {
  return code_table.size();
}

std::size_t code_index(errc code) {
  for (std::size_t i = 0; i < code_table.size(); ++i)
    if (code_table[i].code == code)
      return i;
  return code_table.size();
}

errc code_at(std::size_t index) {
  return code_table.at(index).code;
}

std::string_view message_of(errc code) {
  for (const auto& entry : code_table)
    if (entry.code == code)
      return entry.message;
  return "unknown error";
}

}  // namespace chatd
