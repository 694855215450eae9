#include "protocol/websocket_frame.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chatd::websocket;

namespace {

constexpr std::uint32_t mask = 0x37fa213d;

parse_result parse_server(std::string& bytes, std::size_t max = 1 << 20) {
  return parse_frame({bytes.data(), bytes.size()}, role::server, max);
}

}  // namespace

TEST_CASE("websocket frames: a masked text frame round-trips, split at every byte") {
  const std::string text = R"({"seq":1,"op":"login"})";
  const auto wire = encode_frame(opcode::text, text, true, mask);
  for (std::size_t cut = 0; cut < wire.size(); ++cut) {
    std::string part = wire.substr(0, cut);
    CHECK(parse_server(part).status == parse_status::need_more);
  }
  std::string whole = wire + "trailing";
  auto r = parse_server(whole);
  REQUIRE(r.status == parse_status::complete);
  CHECK(r.frame.opcode == opcode::text);
  CHECK(r.frame.fin);
  CHECK(r.frame.payload == text);
  CHECK(r.frame.wire_size == wire.size());
}

TEST_CASE("websocket frames: 16- and 64-bit lengths") {
  for (std::size_t size : {125u, 126u, 65535u, 65536u, 300000u}) {
    const std::string payload(size, 'x');
    auto wire = encode_frame(opcode::binary, payload, true, mask);
    auto r = parse_server(wire);
    REQUIRE(r.status == parse_status::complete);
    CHECK(r.frame.payload.size() == size);
    CHECK(r.frame.payload == payload);
  }
}

TEST_CASE("websocket frames: protocol violations fail with their close codes") {
  SUBCASE("unmasked client frame") {
    auto wire = encode_frame(opcode::text, "hi");
    CHECK(parse_server(wire).close_code == close_code::protocol_error);
  }
  SUBCASE("reserved bits") {
    auto wire = encode_frame(opcode::text, "hi", true, mask);
    wire[0] = static_cast<char>(wire[0] | 0x40);
    CHECK(parse_server(wire).close_code == close_code::protocol_error);
  }
  SUBCASE("unknown opcode") {
    auto wire = encode_frame(opcode::text, "hi", true, mask);
    wire[0] = static_cast<char>(0x83);
    CHECK(parse_server(wire).close_code == close_code::protocol_error);
  }
  SUBCASE("fragmented or long control frame") {
    auto wire = encode_frame(opcode::ping, "hi", true, mask);
    wire[0] = static_cast<char>(0x09);  // FIN clear
    CHECK(parse_server(wire).close_code == close_code::protocol_error);
    auto long_ping = encode_frame(opcode::ping, std::string(126, 'p'), true, mask);
    CHECK(parse_server(long_ping).close_code == close_code::protocol_error);
  }
  SUBCASE("too big: 1009 before the payload arrives") {
    auto wire = encode_frame(opcode::text, std::string(2000, 'a'), true, mask);
    wire.resize(8);
    auto r = parse_server(wire, 1000);
    CHECK(r.status == parse_status::failed);
    CHECK(r.close_code == close_code::too_big);
    CHECK_FALSE(r.reason.empty());
  }
}

TEST_CASE("websocket frames: a server frame parses on the client side") {
  auto wire = encode_frame(opcode::text, "hello");
  auto r = parse_frame({wire.data(), wire.size()}, role::client, 1 << 20);
  REQUIRE(r.status == parse_status::complete);
  CHECK(r.frame.payload == "hello");
  auto masked = encode_frame(opcode::text, "hello", true, mask);
  CHECK(parse_frame({masked.data(), masked.size()}, role::client, 1 << 20).status ==
        parse_status::failed);
}

TEST_CASE("websocket frames: close payloads") {
  auto p = close_payload(1009, "message too big");
  auto info = parse_close_payload(p);
  CHECK(info.valid);
  CHECK(info.code == 1009);
  CHECK(info.reason == "message too big");
  CHECK(parse_close_payload("").code == 1005);
  CHECK_FALSE(parse_close_payload("x").valid);
  CHECK_FALSE(parse_close_payload(close_payload(1005, "")).valid);
  CHECK_FALSE(parse_close_payload(close_payload(999, "")).valid);
  CHECK(parse_close_payload(close_payload(4000, "app")).valid);
  CHECK(close_payload(1000, std::string(300, 'r')).size() == 125);
}

TEST_CASE("websocket frames: UTF-8 validation") {
  CHECK(valid_utf8("plain ascii, long enough for the fast path"));
  CHECK(valid_utf8("\xC3\xA9t\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"));
  CHECK_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(valid_utf8("abc\xE4\xB8"));       // cut short
  CHECK_FALSE(valid_utf8("\xFF"));
}

TEST_CASE("websocket handshake: the RFC 6455 example accept key") {
  CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
