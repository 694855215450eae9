// chatd::client against a real chatd process over real WebSockets.
//
// GCC 12 miscompiles lambdas that capture inside coroutine bodies and
// braced temporaries inside co_await expressions, so the scenarios below
// attach callbacks from plain functions, poll with a macro instead of
// lambdas, and name every argument before awaiting.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "chatd/client.hpp"
#include "chatd_process.hpp"
#include "scenario.hpp"

using namespace chatd::test;

namespace {

// What one client has been told, recorded by its callbacks.
struct observer {
  int ready = 0;
  std::string ready_instance;
  int not_ready = 0;
  int reconnects = 0;
  std::string kick_type;
  std::optional<chatd::kicked_by> kicker;
};

void observe(chatd::client& c, observer& o) {
  c.on_ready = [&o](const std::string& id) {
    ++o.ready;
    o.ready_instance = id;
  };
  c.on_not_ready = [&o](int reason) { o.not_ready = reason; };
  c.on_reconnecting = [&o](int) { ++o.reconnects; };
  c.on_kicked_out = [&o](const std::string& type, const std::optional<chatd::kicked_by>& by) {
    o.kick_type = type;
    o.kicker = by;
  };
}

asio::awaitable<void> login_ready_time_logout(asio::io_context& io,
                                              chatd::test::chatd_process& server) {
  chatd::client c(io.get_executor(), {.url = server.url()});
  observer o;
  observe(c, o);
  const chatd::login_params params1{
      .sdkappid = app, .user_id = "c-alice", .user_sig = sig_for("c-alice")};
  auto r = co_await c.login(params1);
  CHECK(r.code == 0);
  CHECK_FALSE(r.instance_id.empty());
  WAIT_UNTIL(io, o.ready == 1);
  CHECK(o.ready_instance == r.instance_id);
  CHECK(c.ready());
  const auto now = co_await c.server_time();
  const auto local = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  CHECK(std::abs(now - local) < 5000);
  CHECK(co_await c.logout() == 0);
  WAIT_UNTIL(io, o.not_ready == 3005);
  CHECK(o.not_ready == 3005);
  CHECK_FALSE(c.ready());
  const chatd::login_params params2{.sdkappid = app, .user_id = "c-alice", .user_sig = "garbage"};
  auto bad = co_await c.login(params2);
  CHECK(bad.code == 70003);
  co_await c.destroy();
}

asio::awaitable<void> reconnect_after_drop(asio::io_context& io,
                                           chatd::test::chatd_process& server) {
  chatd::client c(io.get_executor(), {.url = server.url(), .reconnect_min = 50ms});
  observer o;
  observe(c, o);
  const chatd::login_params params3{
      .sdkappid = app, .user_id = "c-bob", .user_sig = sig_for("c-bob")};
  auto r = co_await c.login(params3);
  REQUIRE(r.code == 0);
  WAIT_UNTIL(io, o.ready == 1);
  const auto first = c.instance_id();
  const auto dropped = server.rest("chatd_admin/drop_connections", R"({"UserID":"c-bob"})");
  CHECK(dropped.find(R"("Dropped":1)") != std::string::npos);
  WAIT_UNTIL(io, o.ready == 2);
  CHECK(o.ready == 2);
  CHECK(o.reconnects >= 1);
  CHECK(c.ready());
  CHECK(c.instance_id() != first);
  co_await c.destroy();
}

asio::awaitable<void> kicked_does_not_reconnect(asio::io_context& io,
                                                chatd::test::chatd_process& server) {
  chatd::client first(io.get_executor(), {.url = server.url(), .reconnect_min = 50ms});
  chatd::client second(io.get_executor(), {.url = server.url()});
  observer o;
  observe(first, o);
  const chatd::login_params params4{
      .sdkappid = app, .user_id = "c-carol", .user_sig = sig_for("c-carol")};
  auto login1 = co_await first.login(params4);
  CHECK(login1.code == 0);
  const chatd::login_params params5{
      .sdkappid = app, .user_id = "c-carol", .user_sig = sig_for("c-carol")};
  auto login2 = co_await second.login(params5);
  CHECK(login2.code == 0);
  WAIT_UNTIL(io, o.kick_type == "multipleAccount");
  CHECK(o.kick_type == "multipleAccount");
  REQUIRE(o.kicker);
  CHECK(o.kicker->instance_id == login2.instance_id);
  CHECK(o.kicker->platform == "Web");
  // Its connection drops later: it must not log in again and kick the other.
  server.rest("chatd_admin/drop_connections", R"({"UserID":"c-carol"})");
  co_await sleep_for(io, 1000ms);
  CHECK(o.ready == 1);
  CHECK(o.reconnects == 0);
  CHECK_FALSE(first.ready());
  co_await first.destroy();
  co_await second.destroy();
}

// A resume point past the server's head (its store was reset, or it is
// another server): the login's answer names the head, and the live entries
// after it are received, not dropped as "already seen".
asio::awaitable<void> resume_past_the_head(asio::io_context& io,
                                           chatd::test::chatd_process& server) {
  chatd::client reader(io.get_executor(), {.url = server.url()});
  chatd::client sender(io.get_executor(), {.url = server.url()});
  std::vector<std::uint64_t> seqs;
  reader.on_message = [&seqs](const chatd::received_message& m) { seqs.push_back(m.seq); };
  std::uint64_t reset_to = 999;
  reader.on_timeline_reset = [&reset_to](std::uint64_t head) { reset_to = head; };
  const chatd::login_params params_s{
      .sdkappid = app, .user_id = "c-sender", .user_sig = sig_for("c-sender")};
  REQUIRE((co_await sender.login(params_s)).code == 0);
  const chatd::login_params params_r{.sdkappid = app,
                                     .user_id = "c-reader",
                                     .user_sig = sig_for("c-reader"),
                                     .sync_from_seq = 500};
  REQUIRE((co_await reader.login(params_r)).code == 0);
  CHECK(reset_to == 0);  // a timeline with nothing on it yet
  CHECK(reader.last_seq() == 0);
  const std::string to = "c-reader";
  const std::string text = "after the reset";
  REQUIRE((co_await sender.send_message(to, text)).code == 0);
  WAIT_UNTIL(io, seqs.size() == 1);
  REQUIRE(seqs.size() == 1);
  CHECK(seqs[0] == 1);
  co_await reader.destroy();
  co_await sender.destroy();
}

}  // namespace

TEST_CASE("client: a resume point past the server's timeline head starts over from the head") {
  run_scenario(resume_past_the_head);
}

TEST_CASE("client: login, ready event, server time, logout") {
  run_scenario(login_ready_time_logout);
}

TEST_CASE("client: after a lost connection it reconnects and logs in again") {
  run_scenario(reconnect_after_drop);
}

TEST_CASE("client: a kicked client reports the kick and does not reconnect") {
  run_scenario(kicked_does_not_reconnect);
}
