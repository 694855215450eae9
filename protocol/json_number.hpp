// Numbers from untrusted JSON: only exact integers in range, never a cast of
// a double (out of range is undefined behavior) and never an exception
// (Boost.JSON's to_number throws when the value is not exact).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace chatd {

// The value as an integer in [lo, hi]; nullopt for anything else (a
// fraction, a string, out of range). 7.0 counts as 7.
inline std::optional<std::int64_t> exact_integer(
    const boost::json::value& v, std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
    std::int64_t hi = std::numeric_limits<std::int64_t>::max()) {
  boost::system::error_code ec;
  std::int64_t n = 0;
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    n = static_cast<std::int64_t>(v.get_uint64());
  } else {
    n = v.to_number<std::int64_t>(ec);
    if (ec)
      return std::nullopt;
  }
  if (n < lo || n > hi)
    return std::nullopt;
  return n;
}

// An unsigned 64-bit integer, the full range.
inline std::optional<std::uint64_t> exact_unsigned(const boost::json::value& v) {
  if (v.is_uint64())
    return v.get_uint64();
  auto n = exact_integer(v, 0);
  return n ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*n)) : std::nullopt;
}

// An SDKAppID field of an object (1..2^32-1); 0 when absent or invalid.
inline std::uint32_t sdkappid_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  const auto n = v != nullptr ? exact_integer(*v, 1, UINT32_MAX) : std::nullopt;
  return n ? static_cast<std::uint32_t>(*n) : 0;
}

}  // namespace chatd
