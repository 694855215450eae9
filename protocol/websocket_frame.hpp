// RFC 6455 framing as pure functions: parse frames out of bytes, write frame
// headers, check UTF-8, and compute the handshake's accept key. Used by the
// gateway's connection and by the load generator's lean client.
//
// Written by hand rather than taken from Beast: Beast's websocket::stream
// keeps ~3 KB per connection (an embedded 1.5 KB read buffer, a write buffer,
// a timer, its own state) and cannot write several frames in one syscall;
// chatd holds up to 20,000 mostly idle connections per process, where that
// state was the largest single cost (bench/RESULTS.md). Beast's HTTP parser
// still reads the upgrade request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace chatd::websocket {

enum class opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// Close codes used by chatd (RFC 6455 §7.4.1).
namespace close_code {
constexpr std::uint16_t normal = 1000;
constexpr std::uint16_t going_away = 1001;
constexpr std::uint16_t protocol_error = 1002;
constexpr std::uint16_t unsupported_data = 1003;
constexpr std::uint16_t invalid_payload = 1007;
constexpr std::uint16_t too_big = 1009;
constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

struct frame {
  bool fin = true;
  websocket::opcode opcode = opcode::text;
  std::string_view payload;   // unmasked, pointing into the parsed buffer
  std::size_t wire_size = 0;  // header + payload bytes consumed
};

enum class parse_status : std::uint8_t { complete, need_more, failed };

struct parse_result {
  parse_status status = parse_status::need_more;
  websocket::frame frame;
  std::uint16_t close_code = 0;  // when failed: the code to close with
  std::string_view reason;       // when failed: why (a static string)
};

enum class role : std::uint8_t {
  server,  // parses masked frames from a client
  client,  // parses unmasked frames from a server
};

// Parses the frame at the start of `bytes`, unmasking its payload in place.
// Frames whose payload exceeds `max_payload` fail with 1009.
parse_result parse_frame(std::span<char> bytes, role who, std::size_t max_payload);

// The header of one frame (at most 14 bytes); masked with `mask` when a
// client writes (then the payload must be masked with mask_payload()).
std::size_t write_header(char out[14], opcode op, std::size_t payload_size, bool masked = false,
                         std::uint32_t mask = 0);
void mask_payload(std::span<char> payload, std::uint32_t mask);

// A whole unfragmented frame, for small control and test frames.
std::string encode_frame(opcode op, std::string_view payload, bool masked = false,
                         std::uint32_t mask = 0);
// The payload of a close frame: the code in network order, then the reason
// (cut to the 123 bytes a control frame allows).
std::string close_payload(std::uint16_t code, std::string_view reason);

struct close_info {
  bool valid = true;          // false: 1002 (bad code or length) or 1007 (bad UTF-8)
  std::uint16_t code = 1005;  // 1005: no code given
  std::string_view reason;
};
close_info parse_close_payload(std::string_view payload);

// Incremental-free UTF-8 check of a complete text message (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view text);

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2).
std::string accept_key(std::string_view client_key);

}  // namespace chatd::websocket
