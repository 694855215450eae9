// echo-bot: bots that answer every message with "echo: <text>", each message
// once, across lost connections. UserSigs are made in process from the app's
// key.
//
//   ./echo-bot ws://127.0.0.1:8080/v1/ws 1400000000 KEY [bots=1] [seconds=until Ctrl-C]
//
// The bots are named echo-1, echo-2, ...
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chatd/bot_host.hpp>

#include <iostream>
#include <string>

namespace asio = boost::asio;

// The handler: a plain coroutine function (its arguments live in its frame).
asio::awaitable<void> echo(chatd::bot& bot, chatd::received_message message) {
  co_await bot.send(message.from, "echo: " + message.text);
}

asio::awaitable<void> run(chatd::bot_host& host, int bots) {
  for (int i = 1; i <= bots; ++i)
    host.add("echo-" + std::to_string(i));
  co_await host.start();
  std::cout << "online " << host.stats().online << " of " << bots << std::endl;
}

asio::awaitable<void> stop_after(chatd::bot_host& host, asio::steady_timer& timer,
                                 asio::signal_set& signals) {
  try {
    co_await timer.async_wait(asio::use_awaitable);
  } catch (const boost::system::system_error&) {  // a signal came first
  }
  signals.cancel();
  co_await host.stop();
  const auto stats = host.stats();
  std::cout << "answered " << stats.messages_out << " of " << stats.messages_in << std::endl;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: echo-bot URL SDKAPPID KEY [bots] [seconds]\n";
    return 2;
  }
  const int bots = argc > 4 ? std::stoi(argv[4]) : 1;
  const int seconds = argc > 5 ? std::stoi(argv[5]) : 24 * 3600;

  asio::io_context io;  // one thread: the bots share it
  chatd::bot_host host(io.get_executor(),
                       {.url = argv[1],
                        .sdkappid = static_cast<std::uint32_t>(std::stoul(argv[2])),
                        .secret_key = argv[3]},
                       echo);
  asio::steady_timer timer(io, std::chrono::seconds(seconds));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto error, int) {
    if (!error)
      timer.cancel();
  });
  asio::co_spawn(io, run(host, bots), asio::detached);
  asio::co_spawn(io, stop_after(host, timer, signals), asio::detached);
  io.run();
  return 0;
}
