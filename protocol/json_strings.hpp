// Strings from untrusted JSON: members that may be absent or of another
// type, read without exceptions.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd {

// The member as a string; "" when it is absent or not a string.
inline std::string string_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The items of an array of strings; nullopt for anything else (absent, not
// an array, an item that is not a string).
inline std::optional<std::vector<std::string>> string_array(const boost::json::value* v) {
  if (v == nullptr || !v->is_array())
    return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : v->get_array()) {
    if (!item.is_string())
      return std::nullopt;
    out.emplace_back(item.get_string());
  }
  return out;
}

}  // namespace chatd
