// chat-bots: a fleet of bot users in one process (chatd::bot_host), and the
// example of how to embed one. Each bot answers every message it receives
// once, in order, across lost connections and chatd restarts.
//
//   chat-bots --url ws://127.0.0.1:8080/v1/ws --sdkappid 1400000000 --key KEY
//             --users 1000 --prefix bot --reply "echo: {text}" --metrics-listen 127.0.0.1:9470
//
// Prints one JSON line of stats a second on stdout ({"stats": {...}}).
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <CLI/CLI.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <memory>

#include "chatd/bot_host.hpp"

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// The reply for a message: the template with {text}, {from} and {id} filled.
std::string reply_to(const std::string& pattern, const chatd::received_message& m) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, 6, "{text}") == 0) {
      out += m.text;
      i += 6;
    } else if (pattern.compare(i, 6, "{from}") == 0) {
      out += m.from;
      i += 6;
    } else if (pattern.compare(i, 4, "{id}") == 0) {
      out += m.message_id;
      i += 4;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

// The handler: every bot answers each message it receives, once. A plain
// coroutine function with its own parameters (a capturing coroutine lambda
// would keep its captures in the lambda object, not in the frame).
asio::awaitable<void> answer(chatd::bot& bot, chatd::received_message m, std::string reply) {
  co_await bot.send(m.from, reply);
}

void print_stats(const chatd::bot_host& host) {
  const auto s = host.stats();
  json::object o{{"bots", s.bots},
                 {"online", s.online},
                 {"messages_in", s.messages_in},
                 {"messages_out", s.messages_out},
                 {"handler_errors", s.handler_errors},
                 {"reconnects", s.reconnects},
                 {"overflows", s.overflows}};
  std::cout << json::serialize(json::object{{"stats", o}}) << std::endl;
}

asio::awaitable<void> report_every_second(chatd::bot_host* host, bool* stopping) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!*stopping) {
    print_stats(*host);
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> run(chatd::bot_host* host, bool* stopping) {
  co_await host->start();
  print_stats(*host);
  asio::co_spawn(co_await asio::this_coro::executor, report_every_second(host, stopping),
                 asio::detached);
}

asio::awaitable<void> shut_down(chatd::bot_host* host, asio::io_context* io) {
  co_await host->stop();
  print_stats(*host);
  io->stop();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"chat-bots: a fleet of chatd bot users that answer every message"};
  cli.option_defaults()->always_capture_default();
  chatd::bot_host_options options;
  int users = 100;
  std::string prefix = "bot";
  std::string reply = "echo: {text}";
  std::string metrics_listen;
  cli.add_option("--url", options.url, "chatd WebSocket URL");
  cli.add_option("--sdkappid", options.sdkappid, "SDKAppID")->required();
  cli.add_option("--key", options.secret_key, "the app's secret key (mints the bots' UserSigs)")
      ->required();
  cli.add_option("--users", users, "bots, named PREFIX-0 .. PREFIX-(N-1)")
      ->check(CLI::PositiveNumber);
  cli.add_option("--prefix", prefix, "userID prefix of the bots");
  cli.add_option("--reply", reply, "reply template: {text}, {from} and {id} are filled in");
  cli.add_option("--platform", options.platform, "the bots' platform");
  cli.add_option("--queue-limit", options.queue_limit, "queued messages per bot");
  cli.add_option("--metrics-listen", metrics_listen, "serve the fleet's metrics here (HOST:PORT)");
  CLI11_PARSE(cli, argc, argv);

  // What it does, and why bots stay offline: the first failure of each code
  // is printed (with the bot and chatd's message); the rest are only counted.
  std::cerr << "chat-bots: " << users << " bots " << prefix << "-0.." << prefix << "-" << users - 1
            << " of app " << options.sdkappid << " logging in to " << options.url << std::endl;
  auto failures = std::make_shared<std::map<int, std::int64_t>>();
  options.on_login_failure = [failures](const std::string& user, int code,
                                        const std::string& message) {
    if ((*failures)[code]++ == 0)
      std::cerr << "chat-bots: login of " << user << " failed: " << code << " " << message
                << (code == 2800 ? " (is chatd running at --url?)" : "")
                << "; more failures of this code are counted, not printed" << std::endl;
  };

  asio::io_context io(1);
  chatd::bot_host host(io.get_executor(), options,
                       [reply](chatd::bot& bot, const chatd::received_message& m) {
                         return answer(bot, m, reply_to(reply, m));
                       });
  for (int i = 0; i < users; ++i)
    host.add(prefix + "-" + std::to_string(i));

  std::unique_ptr<prometheus::Exposer> exposer;
  if (!metrics_listen.empty()) {
    exposer = std::make_unique<prometheus::Exposer>(metrics_listen);
    exposer->RegisterCollectable(host.metrics());
  }
  bool stopping = false;
  asio::co_spawn(io, run(&host, &stopping), asio::detached);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec)
      return;
    stopping = true;
    asio::co_spawn(io, shut_down(&host, &io), asio::detached);
  });
  io.run();
  return 0;
}
