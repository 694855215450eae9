// The one table of chatd's result codes: Tencent's numbers, our messages.
#pragma once

#include <cstddef>
#include <string_view>

namespace chatd {

enum class errc : int {
  ok = 0,
  // Client request problems (Tencent Web SDK numbers).
  no_sdkappid = 2000,
  no_identifier = 2002,
  no_usersig = 2003,
  invalid_parameter = 2017,
  not_logged_in = 2024,
  repeat_login = 2025,
  origin_not_allowed = 2801,
  invalid_operation = 2905,
  // Not-ready reasons, carried by sdkStateNotReady.
  kicked_multiple_device = 3002,
  kicked_multiple_account = 3003,
  kicked_usersig_expired = 3004,
  logged_out = 3005,
  kicked_rest_api = 3006,
  invalid_identifier = 7003,
  // Messages.
  recipient_invalid = 20003,
  revoke_window_passed = 20016,  // Tencent's: the message is older than the revoke window
  text_invalid = 80002,
  // Profiles (Tencent's profile service codes).
  profile_value_invalid = 40001,    // the wrong type, or not one of the field's values
  profile_account_unknown = 40003,  // the user is not a known account
  profile_read_only = 40008,        // a field a user may not set
  profile_tag_unknown = 40009,
  profile_value_too_long = 40601,
  // Server-side codes shared with the REST API.
  bad_json = 60003,
  too_many_requests = 60018,
  not_admin = 60010,
  sdkappid_missing = 60012,
  invalid_rest_command = 60009,
  package_expired = 60020,
  // No cluster node may admit the login now: its shard's lease is moving,
  // or held where it cannot be reached (Tencent's OPEN_SERVICE_OVERLOAD_ERROR;
  // docs/CONTRACT-NOTES.md).
  service_overload = 60022,
  usersig_expired = 70001,
  usersig_empty = 70002,
  usersig_malformed = 70003,
  usersig_key_mismatch = 70009,
  usersig_identifier_mismatch = 70013,
  usersig_sdkappid_mismatch = 70014,
  sdkappid_not_found = 70020,
  user_locked = 70050,
  usersig_revoked = 70052,
  account_not_found = 70107,
  invalid_account_count = 70206,
  invalid_rest_parameter = 70402,
  internal_error = 70500,
};

// Human-readable text for a code; never empty.
std::string_view message_of(errc code);

constexpr int code_number(errc code) {
  return static_cast<int>(code);
}

// Codes are dense indexes into the one table, for per-code arrays.
// The codes a login can end with (native or SDK): the series a dashboard
// should see from the start; every other code appears only if it occurs.
bool can_end_a_login(errc code);

std::size_t code_count();
std::size_t code_index(errc code);  // code_count() for a code not in the table
errc code_at(std::size_t index);    // index < code_count()

}  // namespace chatd
