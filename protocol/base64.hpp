// Standard base64 (RFC 4648 §4, with padding) over OpenSSL's codec.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chatd::base64 {

std::string encode(std::string_view bytes);
// Tolerates missing padding; nullopt on any other malformation.
std::optional<std::string> decode(std::string_view text);

}  // namespace chatd::base64
