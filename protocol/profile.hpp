// User profiles as Tencent keeps them: standard fields (Tag_Profile_IM_*)
// and app-defined ones (Tag_Profile_Custom_*), each a string or an unsigned
// integer. The checks a field must pass before it is stored, shared by the
// SDK's profile.portrait_set, the native updateMyProfile and REST.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/error_codes.hpp"

namespace chatd {

using profile_value = std::variant<std::string, std::uint64_t>;

struct profile_field {
  std::string tag;
  profile_value value;
  bool operator==(const profile_field&) const = default;
};

// One user's fields, one per tag, in tag order.
using user_profile = std::vector<profile_field>;

inline constexpr std::size_t max_profile_string_bytes = 500;
inline constexpr std::size_t max_profile_fields_per_set = 50;
inline constexpr std::size_t max_profiles_per_get = 100;

// ok, or why the field cannot be set: profile_tag_unknown (not a standard
// tag a user may set, nor Tag_Profile_Custom_ and 1..8 letters, digits or
// '_'), profile_value_invalid (the wrong type, or not one of the field's
// values), profile_value_too_long (a string over 500 bytes; Location over
// 16).
errc check_profile_field(const profile_field& field);

// `fields` merged into `profile` (each tag replaced or added), in tag order.
void merge_profile(user_profile& profile, const std::vector<profile_field>& fields);

// The profile's value of `tag`, or nullptr.
const profile_value* find_field(const user_profile& profile, std::string_view tag);

}  // namespace chatd
