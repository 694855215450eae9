// A peer: the client at the other end of one WebSocket link, as the link's
// handler. It carries the client's instance (`instance_state`), speaks its
// wire protocol through the codec chosen at upgrade, and takes what the
// actors say about the instance (kicks, losses, timeline entries) to the
// wire. The link owns its peer: they live and die together. Everything
// runs on the link's strand.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <span>

#include "gateway/connection.hpp"
#include "gateway/instance_state.hpp"
#include "gateway/wire_codec.hpp"

namespace chatd {

struct gateway_context;

class peer final : public link_handler {
 public:
  peer(connection& link, std::shared_ptr<gateway_context> context,
       std::unique_ptr<wire_codec> codec);
  ~peer() override;
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;

  // Shares ownership with the link (which owns the client).
  std::shared_ptr<peer> shared() const;
  connection& link() const { return link_; }
  gateway_context& context() const { return *context_; }
  instance_state& instance() { return instance_; }
  const std::optional<active_login>& login() const { return instance_.login(); }

  // --- the login (gateway/login_flow.cpp) ----------------------------------
  // Starts an attempt; returns its sink, tied to this attempt.
  std::shared_ptr<instance_sink> begin_login();
  void fail_login();
  // The grant is answered: the instance is ready. Then delivers a kick or
  // loss that raced ahead of the grant (so it follows the answer).
  void finish_login(active_login login);
  // Logged out: offline, no notice pending.
  void go_offline();

  // --- the timeline ----------------------------------------------------------
  // Sends entries in the codec's form and records them as delivered.
  void deliver_entries(std::span<const timeline_entry> entries);
  // Records an entry as delivered (metrics, the user's delivered mark) when
  // the caller sends it itself (an SDK getmsg reply).
  void record_delivered(const timeline_entry& entry);
  // Returns once the outbox is at most half full, or the link is closing:
  // how a writer of many frames (a sync) is paced by the client's reading.
  boost::asio::awaitable<void> drained();

  // --- link_handler ------------------------------------------------------------
  void on_start() override;
  void on_message(std::string payload, bool binary) override;
  void on_drained() override;
  void on_end() override;
  void on_shutdown() override;

 private:
  class sink;
  bool crowded() const;
  void on_kicked(std::uint64_t attempt, const kick_notice& notice);
  void on_lost(std::uint64_t attempt);
  void on_entry(std::uint64_t attempt, const timeline_entry& entry);
  void on_notice(std::uint64_t attempt, const user_notice& notice);
  void end_instance(const early_end& end);
  void take_offline(bool shutdown);
  void count_as_unauthenticated(bool yes);

  connection& link_;
  std::shared_ptr<gateway_context> context_;
  std::unique_ptr<wire_codec> codec_;
  instance_state instance_;
  bool unauthenticated_ = false;  // counted in gateway_context::unauthenticated
  // Wakes drained() waiters. Made on the first wait: most clients never
  // wait, and a timer is some 100 bytes.
  std::unique_ptr<boost::asio::steady_timer> drain_signal_;
};

}  // namespace chatd
