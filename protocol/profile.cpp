#include "protocol/profile.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace chatd {
namespace {

enum class value_kind : std::uint8_t { text, number, choice };

struct standard_tag {
  std::string_view tag;
  value_kind kind;
  std::size_t max_bytes;                    // text
  std::array<std::string_view, 3> choices;  // choice ("" unused)
};

// Tencent's standard fields a user may set (Tag_Profile_IM_AdminForbidType
// is the admin's: read only here).
constexpr std::array standard_tags{
    standard_tag{"Tag_Profile_IM_Nick", value_kind::text, max_profile_string_bytes, {}},
    standard_tag{"Tag_Profile_IM_Gender",
                 value_kind::choice,
                 0,
                 {"Gender_Type_Unknown", "Gender_Type_Female", "Gender_Type_Male"}},
    standard_tag{"Tag_Profile_IM_BirthDay", value_kind::number, 0, {}},
    standard_tag{"Tag_Profile_IM_Location", value_kind::text, 16, {}},
    standard_tag{"Tag_Profile_IM_SelfSignature", value_kind::text, max_profile_string_bytes, {}},
    standard_tag{
        "Tag_Profile_IM_AllowType",
        value_kind::choice,
        0,
        {"AllowType_Type_NeedConfirm", "AllowType_Type_AllowAny", "AllowType_Type_DenyAny"}},
    standard_tag{"Tag_Profile_IM_Language", value_kind::number, 0, {}},
    standard_tag{"Tag_Profile_IM_Image", value_kind::text, max_profile_string_bytes, {}},
    standard_tag{"Tag_Profile_IM_MsgSettings", value_kind::number, 0, {}},
    standard_tag{"Tag_Profile_IM_Level", value_kind::number, 0, {}},
    standard_tag{"Tag_Profile_IM_Role", value_kind::number, 0, {}},
};

constexpr std::string_view custom_prefix = "Tag_Profile_Custom_";
constexpr std::string_view admin_only_tag = "Tag_Profile_IM_AdminForbidType";

bool is_custom_tag(std::string_view tag) {
  if (!tag.starts_with(custom_prefix))
    return false;
  const auto key = tag.substr(custom_prefix.size());
  return !key.empty() && key.size() <= 8 && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

errc check_text(const std::string& text, std::size_t max_bytes) {
  return text.size() > max_bytes ? errc::profile_value_too_long : errc::ok;
}

errc check_standard(const standard_tag& standard, const profile_value& value) {
  const auto* text = std::get_if<std::string>(&value);
  switch (standard.kind) {
    case value_kind::number:
      // uint32 fields.
      return text == nullptr && std::get<std::uint64_t>(value) <= UINT32_MAX
                 ? errc::ok
                 : errc::profile_value_invalid;
    case value_kind::text:
      return text != nullptr ? check_text(*text, standard.max_bytes) : errc::profile_value_invalid;
    case value_kind::choice:
      return text != nullptr && std::find(standard.choices.begin(), standard.choices.end(),
                                          *text) != standard.choices.end()
                 ? errc::ok
                 : errc::profile_value_invalid;
  }
  return errc::profile_value_invalid;
}

}  // namespace

errc check_profile_field(const profile_field& field) {
  if (field.tag == admin_only_tag)
    return errc::profile_read_only;
  for (const auto& standard : standard_tags)
    if (standard.tag == field.tag)
      return check_standard(standard, field.value);
  if (!is_custom_tag(field.tag))
    return errc::profile_tag_unknown;
  const auto* text = std::get_if<std::string>(&field.value);
  return text != nullptr ? check_text(*text, max_profile_string_bytes) : errc::ok;
}

void merge_profile(user_profile& profile, const std::vector<profile_field>& fields) {
  for (const auto& field : fields) {
    auto it = std::lower_bound(
        profile.begin(), profile.end(), field.tag,
        [](const profile_field& f, const std::string& tag) { return f.tag < tag; });
    if (it != profile.end() && it->tag == field.tag)
      it->value = field.value;
    else
      profile.insert(it, field);
  }
}

const profile_value* find_field(const user_profile& profile, std::string_view tag) {
  for (const auto& field : profile)
    if (field.tag == tag)
      return &field.value;
  return nullptr;
}

}  // namespace chatd
