// All Beast code of the server: HTTP routing and the WebSocket connection.
// Kept in one translation unit because Beast's coroutine instantiations
// dominate build time (see ../shared/STACK-NOTES.md §8).
#include "gateway/http_session.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "gateway/client_link.hpp"
#include "gateway/coroutine_errors.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/ops.hpp"
#include "gateway/rest_api.hpp"
#include "gateway/sdk_ops.hpp"
#include "metrics/metrics.hpp"

namespace chatd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using websocket_stream = websocket::stream<beast::tcp_stream>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t max_http_body_bytes = 1024 * 1024;
constexpr char websocket_path[] = "/v1/ws";

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// Sends every queued frame, one write at a time, until the outbox closes.
asio::awaitable<void> write_outbox(std::shared_ptr<websocket_stream> ws,
                                   std::shared_ptr<client_link> link) {
  for (;;) {
    auto [ec, frame] = co_await link->outbox().async_receive(use_tuple);
    if (ec)
      co_return;
    if (frame.close) {
      co_await ws->async_close(
          websocket::close_reason(static_cast<websocket::close_code>(frame.close_code),
                                  frame.close_reason),
          use_tuple);
      co_return;
    }
    ws->binary(link->binary_frames());
    auto [write_ec, written] = co_await ws->async_write(asio::buffer(frame.text), use_tuple);
    link->frame_written();
    if (write_ec) {
      link->on_abort();
      co_return;
    }
  }
}

void count_read_failure(const boost::system::error_code& ec, const client_link& link) {
  if (ec == websocket::error::message_too_big)
    metrics::connection_failed(metrics::connection_error::frame_too_big);
  else if (ec != websocket::error::closed && ec != asio::error::eof &&
           ec != asio::error::operation_aborted && !link.closing())
    metrics::connection_failed(metrics::connection_error::read_error);
}

// Waits (without reading further requests) until the client has read most
// of its replies; false if it has not done so within the stall limit.
asio::awaitable<bool> outbox_drained(client_link& link, std::chrono::seconds stall_limit) {
  auto [ec] = co_await link.async_wait_drained(stall_limit, use_tuple);
  co_return ec == asio::error::operation_aborted;
}

// The WebSocket endpoints: the native protocol, and the Tencent Web SDK's in
// binary (/binfo) and text (/info) frames.
struct endpoint {
  std::string_view path;
  wire_dialect dialect;
  bool binary;
};
constexpr std::array<endpoint, 3> websocket_endpoints{{
    {websocket_path, wire_dialect::native, false},
    {"/binfo", wire_dialect::tencent_sdk, true},
    {"/info", wire_dialect::tencent_sdk, false},
}};

const endpoint* websocket_endpoint(std::string_view target) {
  for (const auto& e : websocket_endpoints)
    if (e.path == path_of(target))
      return &e;
  return nullptr;
}

asio::awaitable<void> run_websocket(beast::tcp_stream stream,
                                    http::request<http::string_body> request,
                                    std::shared_ptr<gateway_context> context, endpoint where) {
  const auto& settings = context->settings;
  auto ws = std::make_shared<websocket_stream>(std::move(stream));
  beast::get_lowest_layer(*ws).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = settings.handshake_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();  // our own idle rule, below
  timeouts.keep_alive_pings = false;
  ws->set_option(timeouts);
  ws->read_message_max(settings.max_frame_bytes);
  // Server frames are not masked and not compressed, so Beast's write buffer
  // only ever holds frame headers: 4 KiB per connection by default, for nothing.
  ws->auto_fragment(false);
  ws->write_buffer_bytes(256);

  auto executor = ws->get_executor();
  auto link = std::make_shared<client_link>(executor, settings.outbox_frames,
                                            std::string(request[http::field::origin]),
                                            where.dialect, where.binary);
  // WebSocket pings count as activity for the idle rule (gateway_server's sweep).
  ws->control_callback(
      [raw = link.get()](websocket::frame_type, beast::string_view) { raw->touch(); });
  auto [accept_ec] = co_await ws->async_accept(request, use_tuple);
  if (accept_ec)
    co_return;
  // The upgrade request would otherwise live as long as the connection.
  request = {};
  context->connections.add(link);
  metrics::connection_opened();
  link->on_abort = [weak = std::weak_ptr(ws)] {
    if (auto w = weak.lock()) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(*w).socket().close(ignored);
    }
  };
  asio::co_spawn(executor, write_outbox(ws, link), log_coroutine_failure);

  beast::flat_buffer buffer;
  for (;;) {
    buffer.clear();
    auto [ec, bytes] = co_await ws->async_read(buffer, use_tuple);
    if (ec) {
      count_read_failure(ec, *link);
      break;  // closed, too big (Beast closes with 1009), reset, aborted
    }
    link->touch();
    if (link->closing())
      continue;  // drain until the peer answers our close
    if (where.dialect == wire_dialect::tencent_sdk) {
      dispatch_sdk_frame(link, context, beast::buffers_to_string(buffer.data()));
    } else if (!ws->got_text()) {
      metrics::connection_failed(metrics::connection_error::binary_frame);
      link->close(1003, "binary frames are not supported");
      continue;
    } else {
      dispatch_frame(link, context, beast::buffers_to_string(buffer.data()));
    }
    if (link->outbox_crowded() && !co_await outbox_drained(*link, settings.send_stall_timeout)) {
      spdlog::warn("client stopped reading for {}s; disconnecting",
                   settings.send_stall_timeout.count());
      link->on_abort();
    }
  }
  release_connection(*link, *context);
  link->end();
  context->connections.remove(link.get());
  metrics::connection_closed();
}

http::response<http::string_body> plain_response(const http::request<http::string_body>& request,
                                                 http::status status, std::string body) {
  http::response<http::string_body> response{status, request.version()};
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

http::response<http::string_body> route_http(const http::request<http::string_body>& request,
                                             gateway_context& context) {
  const auto path = path_of(request.target());
  if (path == "/healthz")
    return plain_response(request, http::status::ok, "ok\n");
  if (path == "/readyz") {
    const bool ready = context.accepting.load();
    return plain_response(request, ready ? http::status::ok : http::status::service_unavailable,
                          ready ? "ready\n" : "not ready\n");
  }
  return plain_response(request, http::status::not_found, "not found\n");
}

asio::awaitable<void> serve(tcp::socket socket, std::shared_ptr<gateway_context> context) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(max_http_body_bytes);
    stream.expires_after(context->settings.handshake_timeout);
    auto [ec, bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec == http::error::body_limit) {
      http::response<http::string_body> too_large{http::status::payload_too_large, 11};
      too_large.body() = "body over 1 MiB\n";
      too_large.keep_alive(false);
      too_large.prepare_payload();
      co_await http::async_write(stream, too_large, use_tuple);
      co_return;
    }
    if (ec)
      co_return;
    auto request = parser.release();
    if (websocket::is_upgrade(request)) {
      const auto* where = websocket_endpoint(request.target());
      const bool known = where != nullptr;
      if (!known || !context->accepting) {
        auto response =
            known ? plain_response(request, http::status::service_unavailable, "draining\n")
                  : plain_response(request, http::status::not_found, "not found\n");
        response.keep_alive(false);
        co_await http::async_write(stream, response, use_tuple);
        co_return;
      }
      // A coroutine of its own, so that this one's frame (parser, REST
      // responses, buffer) is freed instead of living as long as the socket.
      auto executor = stream.get_executor();
      asio::co_spawn(executor,
                     run_websocket(std::move(stream), std::move(request), context, *where),
                     log_coroutine_failure);
      co_return;
    }
    if (is_rest_target(request.target())) {
      if (request.method() != http::verb::post) {
        auto response = plain_response(request, http::status::method_not_allowed, "POST only\n");
        co_await http::async_write(stream, response, use_tuple);
        co_return;
      }
      http::response<http::string_body> response{http::status::ok, request.version()};
      response.set(http::field::content_type, "application/json; charset=utf-8");
      response.keep_alive(request.keep_alive());
      response.body() =
          co_await handle_rest(context, std::string(request.target()), std::move(request.body()));
      response.prepare_payload();
      auto [write_ec, written] = co_await http::async_write(stream, response, use_tuple);
      if (write_ec || !response.keep_alive())
        co_return;
      continue;
    }
    auto response = route_http(request, *context);
    auto [write_ec, written] = co_await http::async_write(stream, response, use_tuple);
    if (write_ec || !response.keep_alive())
      co_return;
  }
}

}  // namespace

void start_http_session(tcp::socket socket, std::shared_ptr<gateway_context> context) {
  auto executor = socket.get_executor();
  asio::co_spawn(executor, serve(std::move(socket), std::move(context)), log_coroutine_failure);
}

}  // namespace chatd
