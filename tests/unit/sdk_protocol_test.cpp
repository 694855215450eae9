// The Tencent Web SDK codec and the A2 credential.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "protocol/a2.hpp"
#include "protocol/base64.hpp"
#include "protocol/profile_json.hpp"
#include "protocol/sdk_frame.hpp"

using namespace chatd;
namespace json = boost::json;

TEST_CASE("an A2 verifies with its app's key only, and carries what it was issued with") {
  const a2::claims issued{1400000000, "alice", 1700000000, 1715552001000};
  const auto token = a2::issue(issued, "key-1");
  CHECK(a2::sdkappid_of(token) == 1400000000u);
  auto back = a2::verify(token, "key-1");
  REQUIRE(back);
  CHECK(back->user_id == "alice");
  CHECK(back->issued_at_s == 1700000000);
  CHECK(back->sig_expires_at_ms == 1715552001000);
  CHECK_FALSE(a2::verify(token, "key-2"));
  // Forging another user into the payload breaks the MAC.
  const auto dot = token.find('.');
  const auto forged_payload =
      base64::encode(R"({"a":1400000000,"u":"mallory","i":1700000000,"e":1715552001000})");
  CHECK_FALSE(a2::verify(forged_payload + token.substr(dot), "key-1"));
  for (const char* junk : {"", ".", "abc", "e30=.AAAA", "x.y.z"})
    CHECK_FALSE(a2::verify(junk, "key-1"));
}

TEST_CASE("SDK frames: requests need head.servcmd and head.seq, and replies echo them") {
  auto r =
      sdk::parse(R"({"head":{"servcmd":"heartbeat.alive","seq":44613232,"platform":7},"body":{}})");
  REQUIRE(r);
  CHECK(r->servcmd == "heartbeat.alive");
  CHECK(r->seq == 44613232u);
  CHECK_FALSE(sdk::parse(R"({"head":{"seq":1}})"));
  CHECK_FALSE(sdk::parse(R"({"body":{}})"));
  CHECK_FALSE(sdk::parse("not json"));

  auto reply = json::parse(sdk::encode_reply(*r, errc::ok, {{"StartIndex", 0}})).as_object();
  CHECK(reply.at("head").at("servcmd").as_string() == "heartbeat.alive");
  CHECK(reply.at("head").at("seq").to_number<std::uint64_t>() == 44613232u);
  CHECK(reply.at("body").at("ActionStatus").as_string() == "OK");
  CHECK(reply.at("body").at("ErrorCode").to_number<int>() == 0);
  CHECK(reply.at("body").at("StartIndex").to_number<int>() == 0);
  auto failed = json::parse(sdk::encode_reply(*r, errc::usersig_expired)).as_object();
  CHECK(failed.at("body").at("ActionStatus").as_string() == "FAIL");
  CHECK(failed.at("body").at("ErrorCode").to_number<int>() == 70001);
}

TEST_CASE("kick pushes carry KickType 1, 2, 3 in the SDK's key layout") {
  const std::pair<kick_type, int> cases[] = {
      {kick_type::multiple_account, 1}, {kick_type::multiple_device, 2}, {kick_type::rest_api, 3}};
  for (auto [type, code] : cases) {
    auto push = json::parse(sdk::encode_kick_push(type, 777, 5)).as_object();
    CHECK(push.at("head").at("servcmd").as_string() == "im_open_status.stat_forceoffline");
    const auto& notify =
        push.at("body").at("eventArray").at(0).at("C2cNotifyMsgArray").at(0).at("KickoutMsgNotify");
    CHECK(notify.at("KickType").to_number<int>() == code);
    CHECK(notify.at("NewInstInfo").at("InstId").to_number<int>() == 777);
  }
}

TEST_CASE("SDK platform codes map to the contract's platforms") {
  auto platform_for = [](int code) { return sdk::platform_of(json::object{{"platform", code}}); };
  CHECK(platform_for(7) == platform::web);
  CHECK(platform_for(2) == platform::android);
  CHECK(platform_for(3) == platform::iphone);
  CHECK(platform_for(4) == platform::mac);
  CHECK(platform_for(8) == platform::web);   // WeChat mini-program
  CHECK(platform_for(21) == platform::web);  // React Native
  CHECK(sdk::platform_of(json::object{}) == platform::web);
  CHECK(sdk::tiny_id(1, "a") == sdk::tiny_id(1, "a"));
  CHECK(sdk::tiny_id(1, "a") != sdk::tiny_id(1, "b"));
  CHECK(std::stoull(sdk::tiny_id(1400000000, "alice")) < (1ULL << 53));
}

// Inputs the fuzzers found (fuzz/corpus/*/regression-*): refused, no
// exception, no undefined conversion.
TEST_CASE("SDK frames and A2 tokens with numbers that are not exact integers are refused") {
  CHECK_FALSE(chatd::sdk::parse(R"({"head":{"servcmd":"x","seq":2.8e50},"body":{}})"));
  CHECK_FALSE(chatd::sdk::parse(R"({"head":{"servcmd":"x","seq":-1},"body":{}})"));
  CHECK(chatd::sdk::parse(R"({"head":{"servcmd":"x","seq":7.0},"body":{}})")->seq == 7);
  boost::json::object head{{"platform", 7.5}};
  CHECK(chatd::sdk::platform_of(head) == chatd::platform::web);
  const std::string forged =
      "eyJhIjoxNDAuMTAwMDAwLCJ1IjoiYWxpY2UiLCJpIjoxNzAwMDAwLCJlIjoxNzAwMDg2NDAwMDAwfQ==."
      "xkk5TmY7s9nTXUHnzGLtz6ay99=";
  CHECK_FALSE(chatd::a2::sdkappid_of(forged));
  CHECK_FALSE(chatd::a2::verify(forged, "key"));
}

TEST_CASE(
    "MsgBody: text elements join, one custom element stands alone, anything else is refused") {
  const auto read = [](std::string_view body) {
    chat_message m;
    const bool ok = sdk::read_msg_body(boost::json::parse(body), m);
    return std::make_pair(ok, m);
  };
  auto [ok, text] = read(R"([{"MsgType":"TIMTextElem","MsgContent":{"Text":"a"}},
                             {"MsgType":"TIMTextElem","MsgContent":{"Text":"b"}}])");
  CHECK(ok);
  CHECK(text.text == "ab");
  CHECK_FALSE(text.custom);
  auto [custom_ok, custom] =
      read(R"([{"MsgType":"TIMCustomElem","MsgContent":{"Data":"d","Desc":"s","Ext":"e"}}])");
  CHECK(custom_ok);
  CHECK(custom.custom == std::optional<custom_element>(custom_element{"d", "s", "e"}));
  CHECK(sdk::msg_body(custom) ==
        boost::json::parse(
            R"([{"MsgType":"TIMCustomElem","MsgContent":{"Data":"d","Desc":"s","Ext":"e"}}])"));
  CHECK(read(R"([{"MsgType":"TIMCustomElem","MsgContent":{}}])").second.custom ==
        std::optional<custom_element>(custom_element{}));
  for (const auto* bad : {R"([])", R"({})", R"([{"MsgType":"TIMImageElem","MsgContent":{}}])",
                          R"([{"MsgType":"TIMCustomElem","MsgContent":{"Data":"d"}},
                              {"MsgType":"TIMTextElem","MsgContent":{"Text":"a"}}])",
                          R"([{"MsgType":"TIMCustomElem","MsgContent":{"Data":"d"}},
                              {"MsgType":"TIMCustomElem","MsgContent":{"Data":"d"}}])",
                          R"([{"MsgType":"TIMTextElem","MsgContent":{"Text":1}}])"})
    CHECK_MESSAGE(!read(bad).first, bad);
  CHECK(sdk::is_online_only(boost::json::parse(R"({"MsgLifeTime":0})").as_object()));
  CHECK_FALSE(sdk::is_online_only(boost::json::parse(R"({"MsgLifeTime":60})").as_object()));
  CHECK_FALSE(sdk::is_online_only(boost::json::parse(R"({})").as_object()));
}

TEST_CASE("a custom message's body is 1..12 KiB over its three fields, and carries no text") {
  chat_message m;
  m.custom = custom_element{std::string(6 * 1024, 'a'), "", std::string(6 * 1024, 'b')};
  CHECK(check_body(m) == errc::ok);
  m.custom->description = "x";
  CHECK(check_body(m) == errc::text_invalid);
  m.custom = custom_element{};
  CHECK(check_body(m) == errc::text_invalid);
  m.custom = custom_element{"d", "", ""};
  m.text = "t";
  CHECK(check_body(m) == errc::text_invalid);
}

TEST_CASE(
    "profile fields: standard tags with their types and limits, custom tags, read only ones") {
  const auto check = [](std::string tag, profile_value value) {
    return check_profile_field({std::move(tag), std::move(value)});
  };
  CHECK(check("Tag_Profile_IM_Nick", std::string(500, 'n')) == errc::ok);
  CHECK(check("Tag_Profile_IM_Nick", std::string(501, 'n')) == errc::profile_value_too_long);
  CHECK(check("Tag_Profile_IM_Nick", std::uint64_t{1}) == errc::profile_value_invalid);
  CHECK(check("Tag_Profile_IM_Location", std::string(17, 'l')) == errc::profile_value_too_long);
  CHECK(check("Tag_Profile_IM_Gender", std::string("Gender_Type_Female")) == errc::ok);
  CHECK(check("Tag_Profile_IM_Gender", std::string("female")) == errc::profile_value_invalid);
  CHECK(check("Tag_Profile_IM_AllowType", std::string("AllowType_Type_DenyAny")) == errc::ok);
  CHECK(check("Tag_Profile_IM_BirthDay", std::uint64_t{20000101}) == errc::ok);
  CHECK(check("Tag_Profile_IM_BirthDay", std::uint64_t{1} << 32) == errc::profile_value_invalid);
  CHECK(check("Tag_Profile_IM_BirthDay", std::string("2000")) == errc::profile_value_invalid);
  CHECK(check("Tag_Profile_IM_AdminForbidType", std::string("AdminForbid_Type_None")) ==
        errc::profile_read_only);
  CHECK(check("Tag_Profile_Custom_Hobby_1", std::string("x")) == errc::ok);
  CHECK(check("Tag_Profile_Custom_Hobby_123", std::string("x")) == errc::profile_tag_unknown);
  CHECK(check("Tag_Profile_Custom_", std::string("x")) == errc::profile_tag_unknown);
  CHECK(check("Tag_Profile_Custom_a-b", std::string("x")) == errc::profile_tag_unknown);
  CHECK(check("Tag_Profile_Custom_big", std::uint64_t{1} << 40) == errc::ok);
  CHECK(check("Tag_Profile_IM_Unknown", std::string("x")) == errc::profile_tag_unknown);
}

TEST_CASE("ProfileItem arrays and native profile objects: read checked, written back") {
  auto read = read_profile_items(boost::json::parse(
      R"([{"Tag":"Tag_Profile_IM_Nick","Value":"A"},{"Tag":"Tag_Profile_IM_Level","Value":3}])"));
  REQUIRE(std::holds_alternative<std::vector<profile_field>>(read));
  auto fields = std::get<std::vector<profile_field>>(read);
  user_profile profile;
  merge_profile(profile, fields);
  merge_profile(profile, {{"Tag_Profile_IM_Nick", std::string("B")}});
  CHECK(profile == user_profile{{"Tag_Profile_IM_Level", std::uint64_t{3}},
                                {"Tag_Profile_IM_Nick", std::string("B")}});
  CHECK(
      profile_items(profile) ==
      boost::json::parse(
          R"([{"Tag":"Tag_Profile_IM_Level","Value":3},{"Tag":"Tag_Profile_IM_Nick","Value":"B"}])"));
  CHECK(profile_object(profile) ==
        boost::json::parse(R"({"Tag_Profile_IM_Level":3,"Tag_Profile_IM_Nick":"B"})"));
  for (const auto* bad : {R"({})", R"([])", R"([{"Tag":"Tag_Profile_IM_Nick"}])",
                          R"([{"Tag":"Tag_Profile_IM_Nick","Value":-1}])",
                          R"([{"Tag":"Tag_Profile_IM_Nick","Value":1.5}])",
                          R"([{"Tag":"Tag_Profile_IM_Nick","Value":"a"},
                              {"Tag":"Tag_Profile_IM_Nick","Value":"b"}])"})
    CHECK_MESSAGE(
        std::get<errc>(read_profile_items(boost::json::parse(bad))) == errc::profile_value_invalid,
        bad);
  CHECK(std::get<errc>(read_profile_object(boost::json::parse(R"({"Tag_X":"a"})"))) ==
        errc::profile_tag_unknown);
}
