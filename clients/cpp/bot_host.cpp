// chatd::bot_host's implementation. GCC 12 miscompiles lambdas that capture
// inside coroutine bodies: coroutines here take shared pointers as
// parameters, and callbacks are attached from plain functions.
#include "chatd/bot_host.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <random>

#include "protocol/usersig.hpp"

namespace chatd {
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

struct bot::state {
  bot_host::impl* host = nullptr;  // owns this state and outlives it
  std::string user_id;
  std::unique_ptr<client> link;
  std::uint64_t handled = 0;       // the last seq handled
  std::uint64_t queued_up_to = 0;  // the last seq received into the queue
  std::deque<received_message> queue;
  bool consuming = false;
  bool overflowed = false;  // messages were dropped: re-read them after the queue drains
  bool online = false;
  bool stopped = false;  // stop() or kicked: no more reconnects
  bool reconnecting = false;
  std::uint64_t drops = 0;  // connections lost so far (a login that raced one failed)
  // The message being handled, for the clientMsgIDs of the handler's sends.
  std::uint64_t handling_seq = 0;
  int sends_in_handler = 0;
  asio::steady_timer renew_timer;

  state(bot_host::impl* h, std::string id, asio::any_io_executor ex)
      : host(h), user_id(std::move(id)), renew_timer(ex) {}
};

struct bot_host::impl {
  asio::any_io_executor executor;
  bot_host_options options;
  message_handler handler;
  std::vector<std::shared_ptr<bot::state>> bots;
  std::unordered_map<std::string, std::shared_ptr<bot::state>> by_id;
  bot_host_stats stats;
  std::mt19937 rng{std::random_device{}()};

  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Gauge& online_gauge = prometheus::BuildGauge()
                                        .Name("chatd_bots_online")
                                        .Help("Bots logged in and ready")
                                        .Register(*registry)
                                        .Add({});
  prometheus::Counter& handled_counter = prometheus::BuildCounter()
                                             .Name("chatd_bot_messages_handled_total")
                                             .Help("Messages handed to bot handlers")
                                             .Register(*registry)
                                             .Add({});
  prometheus::Counter& sent_counter = prometheus::BuildCounter()
                                          .Name("chatd_bot_messages_sent_total")
                                          .Help("Messages sent by bot handlers, acknowledged")
                                          .Register(*registry)
                                          .Add({});
  prometheus::Counter& error_counter = prometheus::BuildCounter()
                                           .Name("chatd_bot_handler_errors_total")
                                           .Help("Handlers that threw")
                                           .Register(*registry)
                                           .Add({});
  prometheus::Counter& reconnect_counter = prometheus::BuildCounter()
                                               .Name("chatd_bot_reconnects_total")
                                               .Help("Reconnect attempts of bots")
                                               .Register(*registry)
                                               .Add({});
  prometheus::Histogram& handler_latency =
      prometheus::BuildHistogram()
          .Name("chatd_bot_handler_seconds")
          .Help("Time a handler took for one message")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05,
                                                           0.1, 0.5, 1, 5});

  impl(asio::any_io_executor ex, bot_host_options opts, message_handler h)
      : executor(std::move(ex)), options(std::move(opts)), handler(std::move(h)) {}

  std::string sig_for(const std::string& user_id) const {
    if (options.usersig_provider)
      return options.usersig_provider(user_id);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return usersig::generate(
        {options.secret_key, options.sdkappid, user_id, options.sig_lifetime.count(), now, {}});
  }

  void set_online(bot::state& b, bool online) {
    if (b.online == online)
      return;
    b.online = online;
    stats.online += online ? 1 : -1;
    online_gauge.Set(static_cast<double>(stats.online));
  }
};

namespace {

void schedule_reconnect(const std::shared_ptr<bot::state>& b);
void schedule_renew(const std::shared_ptr<bot::state>& b, std::int64_t sig_expire_at_ms);

asio::awaitable<void> consume(std::shared_ptr<bot::state> b) {
  auto& host = *b->host;
  b->consuming = true;
  while (!b->queue.empty() && !b->stopped) {
    const auto message = b->queue.front();
    if (!message.outgoing || host.options.handle_outgoing) {
      const auto started = clock_type::now();
      bot view(b);
      b->handling_seq = message.seq;
      b->sends_in_handler = 0;
      try {
        co_await host.handler(view, message);
      } catch (const std::exception&) {
        ++host.stats.handler_errors;
        host.error_counter.Increment();
      }
      host.handler_latency.Observe(
          std::chrono::duration<double>(clock_type::now() - started).count());
      ++host.stats.messages_in;
      host.handled_counter.Increment();
    }
    b->handled = message.seq;
    b->handling_seq = 0;
    b->queue.pop_front();
  }
  b->consuming = false;
  // Dropped messages are re-read from the server: reconnect after the last
  // queued. Until that login, nothing more is queued (frames of the old
  // connection still on their way would skip the dropped ones).
  if (b->overflowed && !b->stopped)
    b->link->drop_connection();
}

// Online-only messages (typing status and such) are no work for a bot: in
// no timeline, they are not queued, handled or resumed.
void on_message(const std::shared_ptr<bot::state>& b, const received_message& m) {
  if (m.online_only || m.seq <= b->queued_up_to || b->overflowed)
    return;
  if (b->queue.size() >= b->host->options.queue_limit) {
    b->overflowed = true;
    ++b->host->stats.overflows;
    return;
  }
  b->queued_up_to = m.seq;
  b->queue.push_back(m);
  if (!b->consuming)
    asio::co_spawn(b->host->executor, consume(b), asio::detached);
}

// One login attempt, resuming after the last message queued; true if ready.
asio::awaitable<bool> log_in(std::shared_ptr<bot::state> b) {
  auto& host = *b->host;
  login_params params;
  params.sdkappid = host.options.sdkappid;
  params.user_id = b->user_id;
  params.user_sig = host.sig_for(b->user_id);
  params.platform = host.options.platform;
  params.sync_from_seq = b->queued_up_to;
  b->overflowed = false;  // the sync of this login brings what was dropped
  const auto drops_before = b->drops;
  const auto result = co_await b->link->login(std::move(params));
  if (result.code != 0 && host.options.on_login_failure)
    host.options.on_login_failure(b->user_id, result.code, result.message);
  // The connection may have dropped between the answer and now (a queue
  // that overflowed on the sync): that login is over already.
  if (result.code != 0 || b->stopped || b->drops != drops_before)
    co_return false;
  host.set_online(*b, true);
  schedule_renew(b, result.sig_expire_at_ms);
  co_return true;
}

asio::awaitable<void> reconnect(std::shared_ptr<bot::state> b) {
  auto& host = *b->host;
  auto backoff = host.options.reconnect_min;
  asio::steady_timer timer(host.executor);
  while (!b->stopped && !b->online) {
    // Full jitter: a thousand bots cut off together do not return together.
    const auto wait = std::uniform_int_distribution<std::int64_t>(0, backoff.count())(host.rng);
    timer.expires_after(std::chrono::milliseconds(wait));
    co_await timer.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, host.options.reconnect_max);
    if (b->stopped)
      break;
    ++host.stats.reconnects;
    host.reconnect_counter.Increment();
    if (co_await log_in(b))
      break;
  }
  b->reconnecting = false;
  // A drop while this loop was finishing found it still running: go again.
  if (!b->stopped && !b->online)
    schedule_reconnect(b);
}

void schedule_reconnect(const std::shared_ptr<bot::state>& b) {
  if (b->stopped || std::exchange(b->reconnecting, true))
    return;
  asio::co_spawn(b->host->executor, reconnect(b), asio::detached);
}

asio::awaitable<void> renew(std::shared_ptr<bot::state> b) {
  auto [ec] = co_await b->renew_timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec || b->stopped || !b->online)
    co_return;
  auto& host = *b->host;
  const auto code = co_await b->link->renew_user_sig(host.sig_for(b->user_id));
  const auto next =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch() + host.options.sig_lifetime)
          .count();
  if (code == 0)
    schedule_renew(b, next);
}

// Renews at 80% of the sig's remaining life.
void schedule_renew(const std::shared_ptr<bot::state>& b, std::int64_t sig_expire_at_ms) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto in = std::max<std::int64_t>(1000, (sig_expire_at_ms - now_ms) * 8 / 10);
  b->renew_timer.expires_after(std::chrono::milliseconds(in));
  asio::co_spawn(b->host->executor, renew(b), asio::detached);
}

void attach(const std::shared_ptr<bot::state>& b) {
  std::weak_ptr<bot::state> weak = b;
  b->link->on_message = [weak](const received_message& m) {
    if (auto s = weak.lock())
      on_message(s, m);
  };
  // The server's timeline is behind the bot's cursor: go on from its head.
  b->link->on_timeline_reset = [weak](std::uint64_t head) {
    if (auto s = weak.lock())
      s->queued_up_to = std::min(s->queued_up_to, head);
  };
  b->link->on_not_ready = [weak](int) {
    auto s = weak.lock();
    if (!s)
      return;
    ++s->drops;
    s->host->set_online(*s, false);
    s->renew_timer.cancel();
    schedule_reconnect(s);
  };
  b->link->on_kicked_out = [weak](const std::string&, const std::optional<kicked_by>&) {
    if (auto s = weak.lock())
      s->stopped = true;  // another instance took over: do not fight it
  };
}

asio::awaitable<void> login_worker(bot_host::impl* host, std::shared_ptr<std::size_t> next,
                                   std::shared_ptr<std::size_t> active) {
  while (*next < host->bots.size()) {
    auto b = host->bots[(*next)++];
    if (!co_await log_in(b))
      schedule_reconnect(b);
  }
  --*active;
}

asio::awaitable<send_result> send_as(std::shared_ptr<bot::state> b, std::string to,
                                     message_content content) {
  auto& host = *b->host;
  const auto give_up = clock_type::now() + host.options.send_retry_for;
  // Derived from the message being answered: a retry after a lost
  // connection (or a restarted chatd) is not sent twice (chatd keeps the
  // first send of a clientMsgID).
  std::string client_msg_id;
  if (b->handling_seq != 0)
    client_msg_id =
        "bot:" + std::to_string(b->handling_seq) + ":" + std::to_string(b->sends_in_handler++);
  asio::steady_timer timer(host.executor);
  for (;;) {
    auto result = co_await b->link->send_message(to, content, client_msg_id);
    if (result.code == 0) {
      ++host.stats.messages_out;
      host.sent_counter.Increment();
    }
    if (result.code != code_network_error || b->stopped || clock_type::now() > give_up)
      co_return result;
    while (!b->online && !b->stopped && clock_type::now() < give_up) {
      timer.expires_after(std::chrono::milliseconds(50));
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
}

asio::awaitable<void> stop_all(std::shared_ptr<bot_host::impl> host) {
  for (auto& b : host->bots) {
    b->stopped = true;
    b->renew_timer.cancel();
    if (b->online)
      co_await b->link->destroy();
    host->set_online(*b, false);
  }
}

asio::awaitable<void> start_all(std::shared_ptr<bot_host::impl> host) {
  auto next = std::make_shared<std::size_t>(0);
  const auto workers = std::max<std::size_t>(1, host->options.login_concurrency);
  auto active = std::make_shared<std::size_t>(workers);
  // Not `i < *active`: a worker may run (and finish) inside co_spawn.
  for (std::size_t i = 0; i < workers; ++i)
    asio::co_spawn(host->executor, login_worker(host.get(), next, active), asio::detached);
  asio::steady_timer timer(host->executor);
  while (*active > 0) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace

const std::string& bot::user_id() const {
  return state_->user_id;
}

asio::awaitable<send_result> bot::send(std::string to, std::string text) {
  return send_as(state_, std::move(to), message_content{std::move(text), std::nullopt, false});
}

asio::awaitable<int> bot::mark_read(std::string peer) {
  return state_->link->set_message_read(std::move(peer));
}

asio::awaitable<send_result> bot::send(std::string to, message_content content) {
  return send_as(state_, std::move(to), std::move(content));
}

bot_host::bot_host(asio::any_io_executor executor, bot_host_options options,
                   message_handler handler)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(options), std::move(handler))) {}

bot_host::~bot_host() {
  for (auto& b : impl_->bots) {
    b->stopped = true;
    b->renew_timer.cancel();
  }
}

void bot_host::add(std::string user_id, std::uint64_t after_seq) {
  auto b = std::make_shared<bot::state>(impl_.get(), user_id, impl_->executor);
  client_options o;
  o.url = impl_->options.url;
  o.reconnect = false;  // the host reconnects, resuming after what it queued
  b->link = std::make_unique<client>(impl_->executor, o);
  b->handled = b->queued_up_to = after_seq;
  attach(b);
  impl_->by_id[user_id] = b;
  impl_->bots.push_back(std::move(b));
  ++impl_->stats.bots;
}

asio::awaitable<void> bot_host::start() {
  return start_all(impl_);
}

asio::awaitable<void> bot_host::stop() {
  return stop_all(impl_);
}

bot_host_stats bot_host::stats() const {
  return impl_->stats;
}

std::uint64_t bot_host::handled_seq(const std::string& user_id) const {
  auto it = impl_->by_id.find(user_id);
  return it == impl_->by_id.end() ? 0 : it->second->handled;
}

std::shared_ptr<prometheus::Registry> bot_host::metrics() const {
  return impl_->registry;
}

}  // namespace chatd
