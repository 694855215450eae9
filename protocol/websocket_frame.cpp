#include "protocol/websocket_frame.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

#include "protocol/base64.hpp"

namespace chatd::websocket {
namespace {

constexpr std::uint8_t fin_bit = 0x80;
constexpr std::uint8_t reserved_bits = 0x70;
constexpr std::uint8_t opcode_bits = 0x0F;
constexpr std::uint8_t mask_bit = 0x80;
constexpr std::size_t max_control_payload = 125;

parse_result failure(std::uint16_t code, std::string_view reason) {
  return {parse_status::failed, {}, code, reason};
}

bool known_opcode(std::uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

bool is_control(std::uint8_t op) {
  return (op & 0x8) != 0;
}

std::uint8_t byte_at(std::span<const char> bytes, std::size_t i) {
  return static_cast<std::uint8_t>(bytes[i]);
}

// Close codes a peer may send (RFC 6455 §7.4).
bool valid_close_code(std::uint16_t code) {
  if (code >= 3000 && code <= 4999)
    return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

}  // namespace

parse_result parse_frame(std::span<char> bytes, role who, std::size_t max_payload) {
  if (bytes.size() < 2)
    return {};
  const auto b0 = byte_at(bytes, 0);
  const auto b1 = byte_at(bytes, 1);
  const std::uint8_t op = b0 & opcode_bits;
  const bool fin = (b0 & fin_bit) != 0;
  const bool masked = (b1 & mask_bit) != 0;
  if ((b0 & reserved_bits) != 0)
    return failure(close_code::protocol_error, "reserved bits set");
  if (!known_opcode(op))
    return failure(close_code::protocol_error, "unknown opcode");
  if (masked != (who == role::server))
    return failure(close_code::protocol_error,
                   who == role::server ? "client frame not masked" : "server frame masked");

  std::uint64_t length = b1 & 0x7F;
  std::size_t offset = 2;
  if (length == 126) {
    if (bytes.size() < 4)
      return {};
    length = (std::uint64_t{byte_at(bytes, 2)} << 8) | byte_at(bytes, 3);
    offset = 4;
    if (length < 126)
      return failure(close_code::protocol_error, "length not minimally encoded");
  } else if (length == 127) {
    if (bytes.size() < 10)
      return {};
    length = 0;
    for (std::size_t i = 2; i < 10; ++i)
      length = (length << 8) | byte_at(bytes, i);
    offset = 10;
    if (length >> 63)
      return failure(close_code::protocol_error, "length out of range");
    if (length <= 0xFFFF)
      return failure(close_code::protocol_error, "length not minimally encoded");
  }
  if (is_control(op) && (!fin || length > max_control_payload))
    return failure(close_code::protocol_error, "bad control frame");
  if (!is_control(op) && length > max_payload)
    return failure(close_code::too_big, "message too big");

  std::uint32_t mask = 0;
  if (masked) {
    if (bytes.size() < offset + 4)
      return {};
    std::memcpy(&mask, bytes.data() + offset, 4);
    offset += 4;
  }
  if (bytes.size() - offset < length)
    return {};
  auto payload = bytes.subspan(offset, static_cast<std::size_t>(length));
  if (masked)
    mask_payload(payload, mask);
  frame f{fin,
          static_cast<opcode>(op),
          {payload.data(), payload.size()},
          offset + static_cast<std::size_t>(length)};
  return {parse_status::complete, f, 0, {}};
}

std::size_t write_header(char out[14], opcode op, std::size_t payload_size, bool masked,
                         std::uint32_t mask) {
  std::size_t n = 0;
  out[n++] = static_cast<char>(fin_bit | static_cast<std::uint8_t>(op));
  const char mask_flag = masked ? static_cast<char>(mask_bit) : 0;
  if (payload_size < 126) {
    out[n++] = static_cast<char>(mask_flag | static_cast<char>(payload_size));
  } else if (payload_size <= 0xFFFF) {
    out[n++] = static_cast<char>(mask_flag | 126);
    out[n++] = static_cast<char>((payload_size >> 8) & 0xFF);
    out[n++] = static_cast<char>(payload_size & 0xFF);
  } else {
    out[n++] = static_cast<char>(mask_flag | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out[n++] = static_cast<char>((static_cast<std::uint64_t>(payload_size) >> shift) & 0xFF);
  }
  if (masked) {
    std::memcpy(out + n, &mask, 4);
    n += 4;
  }
  return n;
}

void mask_payload(std::span<char> payload, std::uint32_t mask) {
  unsigned char key[4];
  std::memcpy(key, &mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(static_cast<unsigned char>(payload[i]) ^ key[i & 3]);
}

std::string encode_frame(opcode op, std::string_view payload, bool masked, std::uint32_t mask) {
  char header[14];
  const auto n = write_header(header, op, payload.size(), masked, mask);
  std::string out(header, n);
  out.append(payload);
  if (masked)
    mask_payload({out.data() + n, payload.size()}, mask);
  return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason.substr(0, max_control_payload - 2));
  return out;
}

close_info parse_close_payload(std::string_view payload) {
  if (payload.empty())
    return {};
  if (payload.size() == 1)
    return {false, close_code::protocol_error, {}};
  const auto code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                               static_cast<std::uint8_t>(payload[1]));
  const auto reason = payload.substr(2);
  if (!valid_close_code(code))
    return {false, close_code::protocol_error, {}};
  if (!valid_utf8(reason))
    return {false, close_code::invalid_payload, {}};
  return {true, code, reason};
}

bool valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = s + text.size();
  while (s < end) {
    // Fast path: eight ASCII bytes at a time (JSON frames are mostly ASCII).
    if (end - s >= 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, s, 8);
      if ((chunk & 0x8080808080808080ull) == 0) {
        s += 8;
        continue;
      }
    }
    const unsigned char c = *s;
    if (c < 0x80) {
      ++s;
      continue;
    }
    int extra;
    std::uint32_t min;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (end - s <= extra)
      return false;
    for (int i = 1; i <= extra; ++i) {
      if ((s[i] & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    s += extra + 1;
  }
  return true;
}

std::string accept_key(std::string_view client_key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(client_key);
  input.append(guid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base64::encode({reinterpret_cast<const char*>(digest), sizeof digest});
}

}  // namespace chatd::websocket
