#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "protocol/frame.hpp"
#include "protocol/login_request.hpp"

using namespace chatd;
namespace json = boost::json;

TEST_CASE("request frames: seq echoed, bad JSON 60003, missing op 60003") {
  auto ok = frame::parse_request(R"({"seq":7,"op":"ping"})");
  REQUIRE(std::holds_alternative<frame::request>(ok));
  CHECK(std::get<frame::request>(ok).seq == 7);
  CHECK(std::get<frame::request>(ok).op == "ping");

  for (std::string_view bad : {"{", "[1,2]", "42", R"({"seq":-1,"op":"x"})", ""}) {
    auto r = frame::parse_request(bad);
    REQUIRE(std::holds_alternative<frame::rejection>(r));
    CHECK(std::get<frame::rejection>(r).code == errc::bad_json);
    CHECK(std::get<frame::rejection>(r).seq == 0);
  }
  auto no_op = frame::parse_request(R"({"seq":9})");
  CHECK(std::get<frame::rejection>(no_op).seq == 9);
  auto bad_data = frame::parse_request(R"({"seq":3,"op":"login","data":[1]})");
  CHECK(std::get<frame::rejection>(bad_data).code == errc::bad_json);
}

TEST_CASE("responses and events have the contract's shape") {
  auto response = json::parse(frame::encode_response(5, errc::not_logged_in)).as_object();
  CHECK(response.at("seq").as_int64() == 5);
  CHECK(response.at("code").as_int64() == 2024);
  CHECK(response.at("message").as_string() == "the user has not logged in");
  auto event =
      json::parse(frame::encode_event("kickedOut", {{"type", "multipleAccount"}})).as_object();
  CHECK(event.at("event").as_string() == "kickedOut");
  CHECK(event.at("data").at("type").as_string() == "multipleAccount");
}

TEST_CASE("login request shape checks") {
  auto code_of = [](std::string_view text) {
    auto r = parse_login_request(json::parse(text).as_object());
    return std::holds_alternative<errc>(r) ? std::get<errc>(r) : errc::ok;
  };
  CHECK(code_of(R"({"userID":"a","userSig":"s"})") == errc::no_sdkappid);
  CHECK(code_of(R"({"SDKAppID":1,"userSig":"s"})") == errc::no_identifier);
  CHECK(code_of(R"({"SDKAppID":1,"userID":"a"})") == errc::no_usersig);
  CHECK(code_of(R"({"SDKAppID":1,"userID":"","userSig":"s"})") == errc::invalid_identifier);
  CHECK(code_of(R"({"SDKAppID":1,"userID":"0123456789012345678901234567890123","userSig":"s"})") ==
        errc::invalid_identifier);
  CHECK(code_of(R"({"SDKAppID":1,"userID":"tab\there","userSig":"s"})") ==
        errc::invalid_identifier);
  CHECK(code_of(R"({"SDKAppID":1,"userID":"a","userSig":"s","platform":"Symbian"})") ==
        errc::invalid_parameter);
  CHECK(code_of(R"({"SDKAppID":"x","userID":"a","userSig":"s"})") == errc::invalid_parameter);
  CHECK(code_of(R"({"SDKAppID":1,"userID":"a b~","userSig":"s","platform":"iPad"})") == errc::ok);
}

TEST_CASE("login checks: unknown app, package, origin, lock, revocation, in that order") {
  app_config app;
  app.sdkappid = 1400000000;
  app.secret_key = "key";
  const auto sig = usersig::generate({"key", 1400000000, "alice", 3600, 1000, {}});
  login_request request{1400000000, "alice", sig, platform::web, {}};
  login_context ctx{&app, 1500 * 1000, "", false, 0};
  CHECK(check_login(request, ctx).code == errc::ok);
  CHECK(check_login(request, {nullptr, ctx.now_ms, "", false, 0}).code == errc::sdkappid_not_found);
  ctx.kick_time_s = 1000;
  CHECK(check_login(request, ctx).code == errc::usersig_revoked);
  ctx.user_locked = true;
  CHECK(check_login(request, ctx).code == errc::user_locked);
  app.allowed_origins = {"https://ok.example"};
  CHECK(check_login(request, ctx).code == errc::origin_not_allowed);
  app.package_expire_at_ms = 1;
  CHECK(check_login(request, ctx).code == errc::package_expired);
}
