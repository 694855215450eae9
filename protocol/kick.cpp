#include "protocol/kick.hpp"

namespace chatd {

std::string_view kick_type_name(kick_type type) {
  switch (type) {
    case kick_type::multiple_account:
      return "multipleAccount";
    case kick_type::multiple_device:
      return "multipleDevice";
    case kick_type::usersig_expired:
      return "userSigExpired";
    case kick_type::rest_api:
      return "REST_API_Kick";
  }
  return "unknown";
}

errc not_ready_reason(kick_type type) {
  switch (type) {
    case kick_type::multiple_account:
      return errc::kicked_multiple_account;
    case kick_type::multiple_device:
      return errc::kicked_multiple_device;
    case kick_type::usersig_expired:
      return errc::kicked_usersig_expired;
    case kick_type::rest_api:
      return errc::kicked_rest_api;
  }
  return errc::logged_out;
}

}  // namespace chatd
