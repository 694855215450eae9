#include "gateway/gateway_server.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/gateway_context.hpp"
#include "gateway/http_session.hpp"
#include "gateway/peer.hpp"
#include "gateway/rest_api.hpp"
#include "metrics/metrics.hpp"

namespace chatd {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Out of descriptors (or kernel memory): the pending connection stays in the
// backlog, so retrying at once would spin. Back off instead, and recover as
// soon as descriptors free up.
bool is_resource_exhaustion(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory || ec.value() == ENFILE;
}

// A plain function, not a lambda in the sweep coroutine (GCC 12 pitfalls).
std::vector<std::shared_ptr<peer>> due_clients(const gateway_context& context, std::int64_t now_ms,
                                               std::int64_t idle_limit_ms) {
  return context.peers.select([now_ms, idle_limit_ms](const peer& c) {
    return c.link().sweep(now_ms, idle_limit_ms) != connection::due::nothing;
  });
}

constexpr std::chrono::milliseconds first_backoff{5};
constexpr std::chrono::milliseconds longest_backoff{500};

}  // namespace

struct gateway_server::impl {
  struct listener {
    tcp::acceptor acceptor;
    bool tls;
  };

  asio::io_context& io;
  std::shared_ptr<gateway_context> context;
  std::vector<std::unique_ptr<listener>> listeners;

  impl(asio::io_context& io, std::shared_ptr<gateway_context> ctx)
      : io(io), context(std::move(ctx)) {}

  bool any_listening() const {
    return std::any_of(listeners.begin(), listeners.end(),
                       [](const auto& l) { return l->acceptor.is_open(); });
  }

  // A listener that cannot start names its key, its address and the cause.
  std::uint16_t listen(const listener_settings& where) {
    boost::system::error_code error;
    const auto address = asio::ip::make_address(where.host, error);
    const auto what = where.key + " " + where.host + ":" + std::to_string(where.port);
    if (error)
      throw std::runtime_error(what + ": not an IP address");
    tcp::endpoint endpoint(address, where.port);
    auto l = std::make_unique<listener>(listener{tcp::acceptor(io), where.tls});
    if (l->acceptor.open(endpoint.protocol(), error) ||
        l->acceptor.set_option(asio::socket_base::reuse_address(true), error) ||
        l->acceptor.bind(endpoint, error) ||
        l->acceptor.listen(asio::socket_base::max_listen_connections, error))
      throw std::runtime_error(what + ": cannot listen: " + error.message());
    const auto port = l->acceptor.local_endpoint().port();
    listeners.push_back(std::move(l));
    return port;
  }

  asio::awaitable<void> drain(std::chrono::milliseconds grace, std::function<void()> done) {
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (auto& c : context->peers.snapshot())
      asio::post(c->link().strand(), [c] { c->link().shut_down(); });
    asio::steady_timer tick(io);
    while (context->peers.size() > 0 && std::chrono::steady_clock::now() < deadline) {
      tick.expires_after(std::chrono::milliseconds(20));
      co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (const auto left = context->peers.size(); left > 0)
      spdlog::warn("drain grace over with {} connection(s) still open", left);
    done();
  }

  // One sweep a second over every connection instead of a timer per
  // connection: a connection idle for idle_timeout is closed (1000); one
  // whose close handshake or crowded outbox is overdue is cut off. Only
  // connections with something due get a handler posted.
  asio::awaitable<void> sweep_connections() {
    asio::steady_timer tick(io);
    const auto limit_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(context->settings.idle_timeout)
            .count();
    while (any_listening() || context->peers.size() > 0) {
      tick.expires_after(std::chrono::seconds(1));
      co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
      const auto now = connection::steady_ms();
      context->addresses.forget_idle(context->settings.max_logins_per_address_per_s, now);
      for (const auto& c : due_clients(*context, now, limit_ms)) {
        auto& link = c->link();
        if (link.sweep(now, limit_ms) == connection::due::abort)
          asio::post(link.strand(), [c] { c->link().abort(); });
        else
          asio::post(link.strand(), [c] { c->link().close(1000, "idle timeout"); });
      }
    }
  }

  // A source address over its connection cap is closed at once, before
  // it costs a TLS handshake or an HTTP parser.
  void admit(tcp::socket socket, bool tls) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec)
      return;  // it is gone already
    auto address =
        context->addresses.admit(peer.address(), context->settings.max_connections_per_address);
    if (!address) {
      metrics::connection_failed(metrics::connection_error::address_cap);
      socket.close(ec);
      return;
    }
    start_http_session(std::move(socket), context, tls, std::move(*address));
  }

  asio::awaitable<void> accept_loop(listener& from) {
    auto& acceptor = from.acceptor;
    auto backoff = first_backoff;
    asio::steady_timer pause(io);
    std::uint64_t exhausted = 0;
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io),
                                                         asio::as_tuple(asio::use_awaitable));
      if (!ec) {
        if (exhausted != 0)
          spdlog::info("accepting again after {} refused attempts", std::exchange(exhausted, 0));
        backoff = first_backoff;
        // Replies are small and latency-bound: no Nagle (it adds ~40 ms
        // when a response and an event go out back to back).
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        admit(std::move(socket), from.tls);
        continue;
      }
      if (ec == asio::error::operation_aborted || !acceptor.is_open())
        co_return;
      if (is_resource_exhaustion(ec)) {
        metrics::connection_failed(metrics::connection_error::accept_exhausted);
        if (exhausted++ == 0)
          spdlog::warn("accept failed: {}; backing off until descriptors free up", ec.message());
        pause.expires_after(backoff);
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        backoff = std::min(backoff * 2, longest_backoff);
      }
      // Other errors (a peer that reset before accept) concern one connection only.
    }
  }
};

gateway_server::gateway_server(asio::io_context& io, std::shared_ptr<gateway_context> context)
    : impl_(std::make_unique<impl>(io, std::move(context))) {}

gateway_server::~gateway_server() = default;

std::vector<std::uint16_t> gateway_server::start() {
  declare_rest_metrics();
  std::vector<std::uint16_t> ports;
  for (const auto& where : impl_->context->settings.listeners)
    ports.push_back(impl_->listen(where));
  for (auto& l : impl_->listeners)
    asio::co_spawn(impl_->io, impl_->accept_loop(*l), asio::detached);
  asio::co_spawn(impl_->io, impl_->sweep_connections(), asio::detached);
  impl_->context->accepting = true;
  return ports;
}

void gateway_server::drain(std::chrono::milliseconds grace, std::function<void()> done) {
  stop_accepting();
  asio::co_spawn(impl_->io, impl_->drain(grace, std::move(done)), asio::detached);
}

void gateway_server::stop_accepting() {
  impl_->context->accepting = false;
  asio::post(impl_->io, [this] {
    boost::system::error_code ignored;
    for (auto& l : impl_->listeners)
      l->acceptor.close(ignored);
  });
}

}  // namespace chatd
