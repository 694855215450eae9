// WebSocket frames as a client sends them to chatd (and as chatd's clients
// read them): frame parsing in both roles, close payloads, UTF-8 checks.
#include <string>

#include "protocol/websocket_frame.hpp"

using namespace chatd::websocket;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  for (auto who : {role::server, role::client}) {
    std::string copy = bytes;
    std::size_t used = 0;
    // Every frame in the input, as the connection's read loop does.
    while (used < copy.size()) {
      auto parsed = parse_frame({copy.data() + used, copy.size() - used}, who, 1 << 16);
      if (parsed.status != parse_status::complete)
        break;
      if (parsed.frame.wire_size == 0)
        __builtin_trap();  // would loop forever
      used += parsed.frame.wire_size;
      if (parsed.frame.opcode == opcode::close)
        (void)parse_close_payload(parsed.frame.payload);
      (void)valid_utf8(parsed.frame.payload);
    }
  }
  (void)valid_utf8(bytes);
  (void)parse_close_payload(bytes);
  return 0;
}
