#include "protocol/profile_json.hpp"

#include <algorithm>

#include "protocol/json_number.hpp"

namespace chatd {
namespace json = boost::json;
namespace {

std::variant<profile_value, errc> read_value(const json::value& v) {
  if (v.is_string())
    return profile_value{std::string(v.get_string())};
  const auto number = exact_integer(v);
  if (!number || *number < 0)
    return errc::profile_value_invalid;
  return profile_value{static_cast<std::uint64_t>(*number)};
}

json::value write_value(const profile_value& value) {
  if (const auto* text = std::get_if<std::string>(&value))
    return json::value(*text);
  return json::value(std::get<std::uint64_t>(value));
}

// Checks each field and that no tag comes twice.
std::variant<std::vector<profile_field>, errc> checked(std::vector<profile_field> fields) {
  if (fields.empty() || fields.size() > max_profile_fields_per_set)
    return errc::profile_value_invalid;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (const auto code = check_profile_field(fields[i]); code != errc::ok)
      return code;
    for (std::size_t j = 0; j < i; ++j)
      if (fields[j].tag == fields[i].tag)
        return errc::profile_value_invalid;
  }
  return fields;
}

}  // namespace

std::variant<std::vector<profile_field>, errc> read_profile_items(const json::value& items) {
  const auto* list = items.if_array();
  if (list == nullptr)
    return errc::profile_value_invalid;
  std::vector<profile_field> fields;
  for (const auto& item : *list) {
    const auto* o = item.if_object();
    const auto* tag = o != nullptr ? o->if_contains("Tag") : nullptr;
    const auto* value = o != nullptr ? o->if_contains("Value") : nullptr;
    if (tag == nullptr || !tag->is_string() || value == nullptr)
      return errc::profile_value_invalid;
    auto read = read_value(*value);
    if (const auto* code = std::get_if<errc>(&read))
      return *code;
    fields.push_back({std::string(tag->get_string()), std::get<profile_value>(std::move(read))});
  }
  return checked(std::move(fields));
}

std::variant<std::vector<profile_field>, errc> read_profile_object(const json::value& object) {
  const auto* o = object.if_object();
  if (o == nullptr)
    return errc::profile_value_invalid;
  std::vector<profile_field> fields;
  for (const auto& [tag, value] : *o) {
    auto read = read_value(value);
    if (const auto* code = std::get_if<errc>(&read))
      return *code;
    fields.push_back({std::string(tag), std::get<profile_value>(std::move(read))});
  }
  return checked(std::move(fields));
}

json::array profile_items(const user_profile& profile) {
  json::array items;
  for (const auto& field : profile)
    items.push_back(json::object{{"Tag", field.tag}, {"Value", write_value(field.value)}});
  return items;
}

json::object profile_object(const user_profile& profile, json::storage_ptr storage) {
  json::object out(storage);
  for (const auto& field : profile) {
    if (const auto* text = std::get_if<std::string>(&field.value))
      out[field.tag] = *text;
    else
      out[field.tag] = std::get<std::uint64_t>(field.value);
  }
  return out;
}

}  // namespace chatd
