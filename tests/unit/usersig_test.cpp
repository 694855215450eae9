#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "protocol/usersig.hpp"

namespace json = boost::json;
using namespace chatd;

namespace {

json::object load_vectors() {
  std::ifstream in(CHATD_TEST_DATA_DIR "/usersig-vectors.json");
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_object();
}

const json::object* find_vector(const json::array& vectors, std::string_view name) {
  for (const auto& v : vectors)
    if (v.as_object().at("name").as_string() == name)
      return &v.as_object();
  return nullptr;
}

usersig::expected_identity identity_of(const json::object& v) {
  return {static_cast<std::uint32_t>(v.at("sdkappid").to_number<std::int64_t>()),
          v.at("userID").as_string(), v.at("key").as_string()};
}

}  // namespace

TEST_CASE("every official UserSig vector verifies at its issue time") {
  const auto doc = load_vectors();
  const auto& vectors = doc.at("vectors").as_array();
  REQUIRE(vectors.size() >= 7);
  for (const auto& item : vectors) {
    const auto& v = item.as_object();
    CAPTURE(v.at("name").as_string());
    const auto time = v.at("time").to_number<std::int64_t>();
    const auto verdict = usersig::verify(v.at("userSig").as_string(), identity_of(v), time);
    CHECK(verdict.code == errc::ok);
    CHECK(verdict.claims.time == time);
    CHECK(verdict.claims.expire == v.at("expire").to_number<std::int64_t>());
    CHECK(verdict.claims.userbuf.has_value() == !v.at("userbuf_b64").is_null());
  }
}

TEST_CASE("every negative UserSig case gives its contract code") {
  const auto doc = load_vectors();
  const auto& vectors = doc.at("vectors").as_array();
  for (const auto& item : doc.at("negative").as_array()) {
    const auto& n = item.as_object();
    CAPTURE(n.at("name").as_string());
    const auto expected = static_cast<errc>(n.at("code").to_number<int>());
    if (const auto* sig = n.if_contains("userSig")) {
      const auto* base = find_vector(vectors, "V2-node");
      CHECK(usersig::verify(sig->as_string(), identity_of(*base), 1700000000).code == expected);
      continue;
    }
    const auto* base = find_vector(vectors, n.at("base").as_string());
    REQUIRE(base != nullptr);
    json::object input = *base;
    std::int64_t now = input.at("time").to_number<std::int64_t>();
    for (const auto& [key, value] : n.at("verifyWith").as_object()) {
      if (key == "now")
        now = value.to_number<std::int64_t>();
      else
        input[key] = value;
    }
    CHECK(usersig::verify(base->at("userSig").as_string(), identity_of(input), now).code ==
          expected);
  }
}

TEST_CASE("the UserSig checks run in contract order") {
  const std::string key = "k1";
  const auto sig = usersig::generate({key, 1400000000, "alice", 10, 1000, {}});
  // Wrong app, wrong user, wrong key, expired all at once: the app wins.
  CHECK(usersig::verify(sig, {1400000001, "bob", "k2"}, 5000).code ==
        errc::usersig_sdkappid_mismatch);
  CHECK(usersig::verify(sig, {1400000000, "bob", "k2"}, 5000).code ==
        errc::usersig_identifier_mismatch);
  CHECK(usersig::verify(sig, {1400000000, "alice", "k2"}, 5000).code == errc::usersig_key_mismatch);
  CHECK(usersig::verify(sig, {1400000000, "alice", key}, 5000).code == errc::usersig_expired);
  CHECK(usersig::verify(sig, {1400000000, "alice", key}, 1010).code == errc::ok);
  CHECK(usersig::verify(sig, {1400000000, "alice", key}, 1011).code == errc::usersig_expired);
}

TEST_CASE("a generated UserSig carries the Node generator's JSON byte for byte") {
  const auto doc = load_vectors();
  const auto& vectors = doc.at("vectors").as_array();
  for (std::string_view name : {"V2-node", "V3-node-admin", "V1-node", "V4-node-userbuf"}) {
    CAPTURE(name);
    const auto& v = *find_vector(vectors, name);
    usersig::sig_request request{
        v.at("key").as_string(),
        static_cast<std::uint32_t>(v.at("sdkappid").to_number<std::int64_t>()),
        v.at("userID").as_string(),
        v.at("expire").to_number<std::int64_t>(),
        v.at("time").to_number<std::int64_t>(),
        {}};
    if (!v.at("userbuf_b64").is_null())
      request.userbuf_raw = "abc";
    const auto ours = usersig::generate(request);
    const auto theirs = usersig::decode(v.at("userSig").as_string());
    const auto mine = usersig::decode(ours);
    REQUIRE(theirs);
    REQUIRE(mine);
    CHECK(mine->identifier == theirs->identifier);
    CHECK(mine->userbuf == theirs->userbuf);
    CHECK(*usersig::decoded_json(ours) == *usersig::decoded_json(v.at("userSig").as_string()));
    CHECK(usersig::verify(ours, identity_of(v), request.time).code == errc::ok);
  }
}

TEST_CASE("malformed UserSigs are rejected with 70003, never crash") {
  const usersig::expected_identity who{1400000000, "alice", "key"};
  for (std::string_view bad : {"eJ", "____", "eJyrVg==", "*-_", "\x01\x02\x03", "eJwDAAAAAAE_"})
    CHECK(usersig::verify(bad, who, 0).code == errc::usersig_malformed);
  // Valid zlib of valid JSON that is not a sig.
  const std::string missing_fields = "eJyrVgrxCdYrSy1SslIy0jNQqgUALUoEuQ__";
  CHECK(usersig::verify(missing_fields, who, 0).code == errc::usersig_malformed);
  // A huge input is refused before decoding.
  CHECK(usersig::verify(std::string(100000, 'A'), who, 0).code == errc::usersig_malformed);
}
