// Profiles on the wire: Tencent's ProfileItem arrays ([{Tag, Value}], the
// SDK's profile.portrait_* and REST profile/portrait_*) and the native
// protocol's object ({tag: value}).
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/profile.hpp"

namespace chatd {

// Fields to set, each checked (check_profile_field); profile_value_invalid
// for a shape that is not [{Tag, Value}] with 1..50 items, a value that is
// neither a string nor an unsigned integer, or a tag given twice.
std::variant<std::vector<profile_field>, errc> read_profile_items(const boost::json::value& items);
// The same from a native {tag: value, ...} object.
std::variant<std::vector<profile_field>, errc> read_profile_object(
    const boost::json::value& fields);

boost::json::array profile_items(const user_profile& profile);
boost::json::object profile_object(const user_profile& profile,
                                   boost::json::storage_ptr storage = {});

}  // namespace chatd
