// embed-server: chatd inside a host process. Starts a chatd from a TOML
// text, logs "alice" in over a real WebSocket with chatd::client, then
// serves for the given number of seconds (default: until Ctrl-C) and drains.
//
//   ./embed-server          # serve on 127.0.0.1:8080 until Ctrl-C
//   ./embed-server 0        # log alice in, then stop at once
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <chatd/client.hpp>
#include <chatd/protocol/usersig.hpp>
#include <chatd/server/server.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>

namespace asio = boost::asio;

constexpr std::uint32_t app_id = 1400000000;
constexpr const char* app_key = "an-example-secret-key-change-me";

// The same keys as chatd.toml (CONTRACT §5); state_dir is relative to the
// folder given to parse_config.
constexpr const char* config_text = R"(
[server]
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"
state_dir = "embed-server-state"
drain_grace_s = 2

[[app]]
sdkappid = 1400000000
secret_key = "an-example-secret-key-change-me"
max_web_instances = 1
)";

std::string user_sig(const std::string& user) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return chatd::usersig::generate({.key = app_key,
                                   .sdkappid = app_id,
                                   .identifier = user,
                                   .expire = 3600,
                                   .time = now.count()});
}

// Logs alice in and out; returns chatd's login code.
asio::awaitable<int> log_alice_in(std::string url) {
  // Named before the co_await: GCC 12 miscompiles a braced temporary in an
  // expression that also awaits.
  const chatd::client_options options{.url = url, .reconnect = false};
  auto executor = co_await asio::this_coro::executor;
  chatd::client alice(executor, options);
  const chatd::login_params params{
      .sdkappid = app_id, .user_id = "alice", .user_sig = user_sig("alice")};
  const auto login = co_await alice.login(params);
  std::cout << "alice: login code " << login.code << ", instance " << login.instance_id
            << std::endl;
  co_await alice.destroy();
  co_return login.code;
}

int main(int argc, char** argv) {
  const int serve_seconds = argc > 1 ? std::stoi(argv[1]) : -1;
  chatd::server server(
      chatd::parse_config(config_text, "embed-server", std::filesystem::current_path()));
  const auto ports = server.start();
  const auto url = "ws://127.0.0.1:" + std::to_string(ports.gateway) + "/v1/ws";
  std::cout << "chatd embedded: " << url << ", metrics on port " << ports.metrics << std::endl;

  asio::io_context io;
  auto code = asio::co_spawn(io, log_alice_in(url), asio::use_future);
  io.run();
  if (code.get() != 0) {
    server.stop(std::chrono::seconds(0));
    return 1;
  }

  // Serve until the time is up or a signal comes, then drain.
  io.restart();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer timer(io);
  signals.async_wait([&](auto, int) { timer.cancel(); });
  if (serve_seconds >= 0) {
    timer.expires_after(std::chrono::seconds(serve_seconds));
    timer.async_wait([&](auto) { signals.cancel(); });
  }
  io.run();
  server.stop(std::chrono::seconds(2));
  std::cout << "stopped" << std::endl;
  return 0;
}
