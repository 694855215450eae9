// Profiles shaped like Tencent's Profile objects (nick, avatar, gender, ...,
// profileCustomField), carried to and from chatd as Tencent's tags.

const TAGS = Object.freeze({
  nick: 'Tag_Profile_IM_Nick',
  gender: 'Tag_Profile_IM_Gender',
  birthday: 'Tag_Profile_IM_BirthDay',
  location: 'Tag_Profile_IM_Location',
  selfSignature: 'Tag_Profile_IM_SelfSignature',
  allowType: 'Tag_Profile_IM_AllowType',
  language: 'Tag_Profile_IM_Language',
  avatar: 'Tag_Profile_IM_Image',
  messageSettings: 'Tag_Profile_IM_MsgSettings',
  adminForbidType: 'Tag_Profile_IM_AdminForbidType',
  level: 'Tag_Profile_IM_Level',
  role: 'Tag_Profile_IM_Role',
});

const DEFAULTS = Object.freeze({
  nick: '', gender: 'Gender_Type_Unknown', birthday: 0, location: '', selfSignature: '',
  allowType: 'AllowType_Type_AllowAny', language: 0, avatar: '', messageSettings: 0,
  adminForbidType: 'AdminForbid_Type_None', level: 0, role: 0,
});

const CUSTOM_PREFIX = 'Tag_Profile_Custom_';

// updateMyProfile's options as chatd's {tag: value}.
export function profileRequest(options = {}) {
  const profile = {};
  for (const [name, tag] of Object.entries(TAGS)) if (options[name] !== undefined) profile[tag] = options[name];
  for (const { key, value } of options.profileCustomField ?? []) {
    profile[key.startsWith(CUSTOM_PREFIX) ? key : CUSTOM_PREFIX + key] = value;
  }
  return profile;
}

// chatd's {userID, profile: {tag: value}} as a Profile object.
export function profileOf({ userID, profile }) {
  const out = { userID, ...DEFAULTS, profileCustomField: [] };
  for (const [name, tag] of Object.entries(TAGS)) if (profile[tag] !== undefined) out[name] = profile[tag];
  for (const [tag, value] of Object.entries(profile)) {
    if (tag.startsWith(CUSTOM_PREFIX)) out.profileCustomField.push({ key: tag, value });
  }
  return out;
}
