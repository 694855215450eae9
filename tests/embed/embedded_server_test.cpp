// chatd::server embedded in this process (as an app hosting chatd would),
// driven by chatd::client over real WebSockets on 127.0.0.1.
//
// GCC 12 coroutine pitfalls (tests/client/coroutine_test.hpp): callbacks are
// attached from plain functions and every argument is named before awaiting.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "../client/coroutine_test.hpp"
#include "chatd/client.hpp"
#include "protocol/usersig.hpp"
#include "server/server.hpp"

namespace {

using namespace chatd::test;

constexpr std::uint32_t app = 1400000000;
constexpr char key[] = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

std::string sig_for(const std::string& user) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return chatd::usersig::generate({key, app, user, 86400, now, {}});
}

chatd::server_config embedded_config(const std::filesystem::path& dir) {
  const std::string text = std::string(R"([server]
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"
state_dir = "state"
log_level = "warn"
drain_grace_s = 2

[[app]]
sdkappid = 1400000000
secret_key = ")") + key + R"("
max_web_instances = 1
)";
  return chatd::parse_config(text, "embedded-test", dir);
}

struct observer {
  int ready = 0;
  int not_ready = 0;
  std::string kick_type;
};

void observe(chatd::client& c, observer& o) {
  c.on_ready = [&o](const std::string&) { ++o.ready; };
  c.on_not_ready = [&o](int reason) { o.not_ready = reason; };
  c.on_kicked_out = [&o](const std::string& type, const std::optional<chatd::kicked_by>&) {
    o.kick_type = type;
  };
}

void stop_in_background(chatd::server& server, std::thread& stopper) {
  stopper = std::thread([&server] { server.stop(2s); });
}

// Two logins of one user with a Web limit of 1 (the first is kicked), then
// the host stops the server: the live client is drained.
asio::awaitable<void> login_kick_drain(asio::io_context& io, chatd::server& server, std::string url,
                                       std::thread& stopper) {
  chatd::client first(io.get_executor(), {.url = url, .reconnect = false});
  chatd::client second(io.get_executor(), {.url = url, .reconnect = false});
  observer o1, o2;
  observe(first, o1);
  observe(second, o2);
  const chatd::login_params alice1{
      .sdkappid = app, .user_id = "e-alice", .user_sig = sig_for("e-alice")};
  auto r1 = co_await first.login(alice1);
  CHECK(r1.code == 0);
  const chatd::login_params alice2{
      .sdkappid = app, .user_id = "e-alice", .user_sig = sig_for("e-alice")};
  auto r2 = co_await second.login(alice2);
  CHECK(r2.code == 0);
  WAIT_UNTIL(io, o1.kick_type == "multipleAccount" && o2.ready == 1);
  CHECK(o1.kick_type == "multipleAccount");
  CHECK(o2.ready == 1);
  stop_in_background(server, stopper);
  WAIT_UNTIL(io, o2.not_ready != 0);
  CHECK(o2.not_ready != 0);
  CHECK_FALSE(second.ready());
  co_await first.destroy();
  co_await second.destroy();
}

asio::awaitable<void> login_once(asio::io_context& io, std::string url, std::string user) {
  chatd::client c(io.get_executor(), {.url = url, .reconnect = false});
  observer o;
  observe(c, o);
  const chatd::login_params params{.sdkappid = app, .user_id = user, .user_sig = sig_for(user)};
  auto r = co_await c.login(params);
  CHECK(r.code == 0);
  WAIT_UNTIL(io, o.ready == 1);
  CHECK(o.ready == 1);
  co_await c.destroy();
}

std::string url_of(const chatd::server_ports& ports) {
  return "ws://127.0.0.1:" + std::to_string(ports.gateway) + "/v1/ws";
}

}  // namespace

TEST_CASE("an embedded chatd serves logins and kicks, drains on stop, and restarts on its state") {
  spdlog::set_level(spdlog::level::warn);  // logging is the host's (here: quiet)
  const auto dir =
      std::filesystem::temp_directory_path() / ("chatd-embed-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    chatd::server server(embedded_config(dir));
    CHECK(server.io_threads() >= 1);
    const auto ports = server.start();
    CHECK(ports.gateway != 0);
    CHECK(ports.metrics != 0);
    CHECK_FALSE(ports.plain);
    std::thread stopper;
    asio::io_context io;
    run_bounded(io, login_kick_drain(io, server, url_of(ports), stopper));
    server.wait();
    stopper.join();
  }
  CHECK(std::filesystem::exists(dir / "state"));
  {
    // A second server on the same state (the first released it).
    chatd::server again(embedded_config(dir));
    const auto ports = again.start();
    asio::io_context io;
    run_bounded(io, login_once(io, url_of(ports), "e-bob"));
    again.stop(1s);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("an embedded chatd serves on the host's threads until stop") {
  spdlog::set_level(spdlog::level::warn);
  const auto dir =
      std::filesystem::temp_directory_path() / ("chatd-embed-host-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    chatd::server server(embedded_config(dir));
    const auto ports = server.start(chatd::serving_threads::host);
    std::atomic<int> serving{0};
    std::vector<std::thread> host_threads;
    for (int i = 0; i < 2; ++i)
      host_threads.emplace_back([&server, &serving] {
        ++serving;
        server.run();
        --serving;
      });
    asio::io_context io;
    run_bounded(io, login_once(io, url_of(ports), "h-carol"));
    CHECK(serving.load() == 2);  // still serving: only stop() ends run()
    server.stop(1s);
    for (auto& t : host_threads)
      t.join();
    CHECK(serving.load() == 0);
    server.run();  // after a stop: returns at once
  }
  std::filesystem::remove_all(dir);
}
