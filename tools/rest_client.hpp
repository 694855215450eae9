// A blocking admin REST call (libcurl), signed with a fresh admin UserSig.
// Shared by chatctl and chat-loadgen.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

namespace chatd {

struct admin_identity {
  std::string base_url;  // http://127.0.0.1:8080
  std::uint32_t sdkappid = 0;
  std::string admin = "administrator";
  std::string key;
};

// POSTs /v4/<command>; returns the response body. Throws std::runtime_error
// when the call cannot be made.
std::string rest_post(const admin_identity& who, const std::string& command,
                      const boost::json::object& body);

}  // namespace chatd
