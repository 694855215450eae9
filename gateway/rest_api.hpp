// The Tencent-shaped admin REST API (CONTRACT §4):
// POST /v4/{service}/{command}?sdkappid=&identifier=&usersig=&random=&contenttype=json
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

namespace chatd {

struct gateway_context;

// Creates each command's metric series (called once at start).
void declare_rest_metrics();

// True for targets this API answers (paths under /v4/).
bool is_rest_target(std::string_view target);

// Runs one call and returns the JSON body of the HTTP 200 answer:
// {"ActionStatus":"OK"|"FAIL","ErrorCode":n,"ErrorInfo":"...", ...}.
boost::asio::awaitable<std::string> handle_rest(std::shared_ptr<gateway_context> context,
                                                std::string target, std::string body);

}  // namespace chatd
