// chatd::bot_host: thousands of bot users in one process, each a logged-in
// instance with a coroutine message handler.
//
//   chatd::bot_host host(io.get_executor(), {.url = url, .sdkappid = app, .secret_key = key},
//       [](chatd::bot& bot, const chatd::received_message& m) -> asio::awaitable<void> {
//         co_await bot.send(m.from, "echo: " + m.text);
//       });
//   for (int i = 0; i < 1000; ++i) host.add("bot-" + std::to_string(i));
//   co_await host.start();
//
// Each bot handles its timeline's incoming messages one at a time, in seq
// order, each once: it logs in with syncFromSeq (its cursor), reconnects with
// jittered back-off after a lost connection resuming after the last seq it
// received, renews its UserSig before expiry, and bounds its queue (a bot
// whose queue overflows drops the connection and re-reads the rest from the
// server's timeline once it has caught up). Everything runs on the given
// executor: use one thread, or a strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chatd/client.hpp"

namespace prometheus {
class Registry;
}

namespace chatd {

class bot_host;

// One bot, as its handler sees it.
class bot {
 public:
  const std::string& user_id() const;
  // Sends a text message as this bot. A send cut off by a lost connection
  // is retried once the bot is back online (within `send_retry_for`); sends
  // made by a handler carry a clientMsgID derived from the message handled,
  // so a retry is never stored twice.
  boost::asio::awaitable<send_result> send(std::string to, std::string text);
  // Marks the conversation with `peer` read (its sender sees the receipt).
  boost::asio::awaitable<int> mark_read(std::string peer);
  // Sends a custom (or online-only) message the same way.
  boost::asio::awaitable<send_result> send(std::string to, message_content content);

  struct state;  // public only so that the implementation's helpers can name it
  explicit bot(std::shared_ptr<state> s) : state_(std::move(s)) {}

 private:
  std::shared_ptr<state> state_;
};

using message_handler = std::function<boost::asio::awaitable<void>(bot&, const received_message&)>;

struct bot_host_options {
  std::string url = "ws://127.0.0.1:8080/v1/ws";
  std::uint32_t sdkappid = 0;
  // UserSigs are minted in process from the app's key, or by the provider.
  std::string secret_key;
  std::function<std::string(const std::string& user_id)> usersig_provider;
  std::chrono::seconds sig_lifetime{86400};
  std::string platform = "Web";
  std::size_t queue_limit = 256;  // received, not yet handled messages per bot
  std::size_t login_concurrency = 100;
  std::chrono::milliseconds reconnect_min{200};
  std::chrono::milliseconds reconnect_max{10000};
  std::chrono::seconds send_retry_for{30};
  bool handle_outgoing = false;  // also hand copies of the bot's own messages to the handler
  // Called on the executor for each failed login attempt (code: chatd's,
  // or 2800 when the connection failed; message: chatd's or the socket's).
  std::function<void(const std::string& user_id, int code, const std::string& message)>
      on_login_failure;
};

struct bot_host_stats {
  std::int64_t bots = 0;
  std::int64_t online = 0;
  std::int64_t messages_in = 0;   // handled
  std::int64_t messages_out = 0;  // sent by handlers, acknowledged
  std::int64_t handler_errors = 0;
  std::int64_t reconnects = 0;
  std::int64_t overflows = 0;  // queues that overflowed (then re-read from the server)
};

class bot_host {
 public:
  bot_host(boost::asio::any_io_executor executor, bot_host_options options,
           message_handler handler);
  ~bot_host();
  bot_host(const bot_host&) = delete;
  bot_host& operator=(const bot_host&) = delete;

  // Adds a bot that resumes after `after_seq` (the last seq it handled in
  // an earlier run; 0: its whole retained timeline).
  void add(std::string user_id, std::uint64_t after_seq = 0);
  // Logs every added bot in (login_concurrency at a time); resolves when
  // each has answered. Bots that failed keep retrying in the background.
  boost::asio::awaitable<void> start();
  // Logs every bot out and closes its connection.
  boost::asio::awaitable<void> stop();

  bot_host_stats stats() const;
  // The last seq each bot handled: save it to resume a later run.
  std::uint64_t handled_seq(const std::string& user_id) const;
  // bots_online, messages in/out, handler latency (prometheus-cpp).
  std::shared_ptr<prometheus::Registry> metrics() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace chatd
