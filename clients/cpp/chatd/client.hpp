// chatd::client: a C++20 coroutine client of chatd's native protocol
// (CONTRACT §2). Thousands of clients can share one io_context; one client
// must be used from one thread (give it a strand on a multi-threaded
// io_context). No Beast in this header.
//
//   chatd::client c(io.get_executor(), {.url = "ws://127.0.0.1:8080/v1/ws"});
//   c.on_kicked_out = [](const std::string& type, auto&) { ... };
//   auto r = co_await c.login({.sdkappid = 1400000000, .user_id = "bot1", .user_sig = sig});
//
// After a lost connection it reconnects with exponential backoff and logs in
// again, unless it was kicked (it reports that and stops), logged out or
// destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chatd {

struct login_params {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  std::string user_sig;
  std::string platform = "Web";
  // Receive the user's timeline after this seq first (CONTRACT §2c). When
  // set, a reconnect resumes after the last seq this client received, so
  // that nothing is lost or received twice across a lost connection.
  std::optional<std::uint64_t> sync_from_seq;
};

// An element the app defines (Tencent's TIMCustomElem): chatd carries it
// untouched. Its three fields together hold 1..12 KiB.
struct custom_content {
  std::string data;
  std::string description;
  std::string extension;
};

// What a message carries: a text, or a custom element. An online-only one
// reaches the recipient's online instances and is never stored (typing
// status and other signals).
struct message_content {
  std::string text;
  std::optional<custom_content> custom;
  bool online_only = false;
};

// One entry of the user's timeline (event messageReceived), or an
// online-only message (seq 0: in no timeline).
struct received_message {
  std::string from;
  std::string to;
  std::string text;  // "" for a custom message
  std::optional<custom_content> custom;
  bool online_only = false;
  std::string message_id;
  std::string client_msg_id;
  std::int64_t time_ms = 0;
  std::uint64_t seq = 0;  // in this user's timeline
  bool outgoing = false;  // flow "out": sent by this user from another instance
};

// One conversation of the user (getConversationList): the peer, its last
// message, how many of the peer's messages are unread, and the read marks.
struct conversation_info {
  std::string user_id;
  std::uint64_t unread_count = 0;
  std::int64_t read_time_ms = 0;       // this user's read mark
  std::int64_t peer_read_time_ms = 0;  // the peer's read mark of the same conversation
  received_message last_message;
};

struct conversation_list {
  int code = 0;                                  // chatd's, or 2800 when the connection failed
  std::vector<conversation_info> conversations;  // newest first
  std::uint64_t total_unread = 0;
};

struct send_result {
  int code = 0;  // 0 = durable; else chatd's code, or 2800 when the connection failed
  std::string message_id;
  std::uint64_t seq = 0;  // in the recipient's timeline
  std::int64_t time_ms = 0;
};

struct login_result {
  int code = 0;  // 0 = logged in; else chatd's code, or 2800 when the connection failed
  std::string message;
  std::string instance_id;
  std::int64_t server_time_ms = 0;
  std::int64_t sig_expire_at_ms = 0;
  bool repeat_login = false;
};

struct kicked_by {
  std::string platform;
  std::string instance_id;
};

struct client_options {
  std::string url = "ws://127.0.0.1:8080/v1/ws";
  std::string local_address;  // source IP to bind ("" = the system's choice)
  std::chrono::milliseconds reconnect_min{200};
  std::chrono::milliseconds reconnect_max{10000};
  bool reconnect = true;
};

// Codes the client produces itself (Tencent's Web SDK numbers).
inline constexpr int code_network_error = 2800;

class client {
 public:
  client(boost::asio::any_io_executor executor, client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Connects if needed, logs in, and resolves with the login response.
  // sdkStateReady follows through on_ready.
  boost::asio::awaitable<login_result> login(login_params params);
  // Takes this instance offline (no reconnect afterwards); 2024 if not logged in.
  boost::asio::awaitable<int> logout();
  // chatd's clock in ms, or a negative code.
  boost::asio::awaitable<std::int64_t> server_time();
  // Sends a text message; resolves once it is durable (or refused).
  boost::asio::awaitable<send_result> send_message(std::string to, std::string text,
                                                   std::string client_msg_id = {});
  // Sends any message; resolves once it is durable, or (online-only) handed
  // to the recipient's online instances, or refused.
  boost::asio::awaitable<send_result> send_message(std::string to, message_content content,
                                                   std::string client_msg_id = {});
  // The user's conversations with their unread counts.
  boost::asio::awaitable<conversation_list> get_conversation_list();
  // Marks the conversation with `peer` read up to now (on every instance of
  // this user; the peer's on_read_by_peer); chatd's code.
  boost::asio::awaitable<int> set_message_read(std::string peer);
  // Replaces the live instance's UserSig; resolves with chatd's code. The
  // new sig is also the one a reconnect logs in with.
  boost::asio::awaitable<int> renew_user_sig(std::string user_sig);
  // Logs out if logged in, then closes the connection; the client is done.
  boost::asio::awaitable<void> destroy();
  // Closes the connection as a network failure would (no logout); with
  // reconnect on, the client reconnects and logs in again.
  void drop_connection();

  bool ready() const;
  const std::string& instance_id() const;
  // The highest timeline seq received (live or by sync); 0 if none.
  std::uint64_t last_seq() const;

  std::function<void(const std::string& instance_id)> on_ready;
  std::function<void(int reason)> on_not_ready;
  std::function<void(const std::string& type, const std::optional<kicked_by>& by)> on_kicked_out;
  std::function<void(int attempt)> on_reconnecting;
  // Each timeline entry once, in seq order (duplicates are dropped here),
  // and each online-only message as it comes.
  std::function<void(const received_message&)> on_message;
  // `peer` read this user's messages up to `read_time_ms` (a read receipt).
  std::function<void(const std::string& peer, std::int64_t read_time_ms)> on_read_by_peer;
  // A resume point (syncFromSeq) was past the server's timeline head (a reset
  // store, another server): the client resumes from `head` from now on.
  std::function<void(std::uint64_t head)> on_timeline_reset;

  struct impl;  // public only so that the implementation's helpers can name it

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace chatd
