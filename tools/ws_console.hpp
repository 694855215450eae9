// chatctl ws: an interactive WebSocket console for chatd's native protocol.
#pragma once

#include <cstdint>
#include <string>

namespace chatd {

struct ws_console_app {
  std::uint32_t sdkappid = 0;
  std::string secret_key;  // signs the sigs of `login USER`
};

// Connects to `url` (ws://HOST:PORT/PATH) and runs until stdin ends or the
// server closes: each line read is sent as one frame, each frame received is
// printed on its own line. A line is raw JSON, `login USER [PLATFORM]` (the
// sig is made from the app's key), or `OP [JSON-DATA]` (seq numbered here).
// Answers the process exit status.
int run_ws_console(const std::string& url, const ws_console_app& app);

}  // namespace chatd
