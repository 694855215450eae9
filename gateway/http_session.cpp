// All Beast code of the server: HTTP routing, REST, and the WebSocket
// opening handshake (the upgraded connection is gateway/connection.cpp).
// Beast's coroutine instantiations dominate build time: keep them here.
#include "gateway/http_session.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "gateway/coroutine_errors.hpp"
#include "gateway/demo_assets.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/peer.hpp"
#include "gateway/rest_api.hpp"
#include "gateway/tls_stream.hpp"
#include "metrics/metrics.hpp"

namespace chatd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t max_http_body_bytes = 1024 * 1024;
constexpr char websocket_path[] = "/v1/ws";

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// The WebSocket endpoints: the native protocol, and the Tencent Web SDK's in
// binary (/binfo) and text (/info) frames.
struct endpoint {
  std::string_view path;
  std::unique_ptr<wire_codec> (*make_codec)();
  bool binary;
};
constexpr std::array<endpoint, 3> websocket_endpoints{{
    {websocket_path, make_native_codec, false},
    {"/binfo", make_sdk_codec, true},
    {"/info", make_sdk_codec, false},
}};

const endpoint* websocket_endpoint(std::string_view target) {
  for (const auto& e : websocket_endpoints)
    if (e.path == path_of(target))
      return &e;
  return nullptr;
}

bool is_websocket_upgrade(const http::request<http::string_body>& request) {
  return beast::iequals(request[http::field::upgrade], "websocket");
}

// RFC 6455 §4.2.1: what makes an opening handshake acceptable.
bool valid_handshake(const http::request<http::string_body>& request) {
  return request.method() == http::verb::get && request.version() >= 11 &&
         request[http::field::sec_websocket_version] == "13" &&
         request[http::field::sec_websocket_key].size() == 24;
}

http::response<http::empty_body> switching_protocols(
    const http::request<http::string_body>& request) {
  http::response<http::empty_body> response{http::status::switching_protocols, request.version()};
  response.set(http::field::upgrade, "websocket");
  response.set(http::field::connection, "Upgrade");
  response.set(http::field::sec_websocket_accept,
               websocket::accept_key(request[http::field::sec_websocket_key]));
  return response;
}

// The upgraded stream becomes a callback-driven connection: a plain one
// keeps only its socket, a TLS one its whole stream.
std::shared_ptr<connection> upgraded(beast::tcp_stream& stream, connection::upgrade_info info) {
  return std::make_shared<connection>(stream.release_socket(), std::move(info));
}

std::shared_ptr<connection> upgraded(tls_stream& stream, connection::upgrade_info info) {
  return std::make_shared<connection>(std::make_unique<tls_link>(std::move(stream)),
                                      std::move(info));
}

// Takes a place among the connections not logged in (max_unauthenticated)
// before the 101 goes out, so that a client whose upgrade was answered is
// already counted; the connection gives it back (login, close).
bool reserve_unauthenticated(gateway_context& context) {
  if (context.unauthenticated.fetch_add(1) < context.settings.max_unauthenticated)
    return true;
  context.unauthenticated.fetch_sub(1);
  return false;
}

// Answers the upgrade and hands the stream to a callback-driven connection;
// this coroutine (and its parser and buffers) ends here.
template <class Stream>
asio::awaitable<void> upgrade(Stream& stream, beast::flat_buffer& buffer,
                              http::request<http::string_body> request,
                              std::shared_ptr<gateway_context> context, endpoint where,
                              address_table::slot& address) {
  auto response = switching_protocols(request);
  auto [ec, written] = co_await http::async_write(stream, response, use_tuple);
  if (ec) {
    context->unauthenticated -= 1;  // its reserved place: no connection was made
    co_return;
  }
  beast::get_lowest_layer(stream).expires_never();
  std::string early(static_cast<const char*>(buffer.data().data()), buffer.size());
  const auto& settings = context->settings;
  link_limits limits{settings.max_frame_bytes, settings.outbox_frames, settings.send_stall_timeout};
  auto link = upgraded(stream, {limits, std::string(request[http::field::origin]), where.binary,
                                std::move(address)});
  link->start(std::make_unique<peer>(*link, std::move(context), where.make_codec()),
              std::move(early));
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

// The demo page ([server] demo = true): GET only; its own scripts and the
// gateway's WebSocket, nothing else (Content-Security-Policy).
http::response<http::string_body> demo_response(const http::request<http::string_body>& request,
                                                std::string_view path) {
  if (path == "/demo") {  // also `/` (route_http)
    auto response = plain_response(request, http::status::moved_permanently, "/demo/\n");
    response.set(http::field::location, "/demo/");
    return response;
  }
  const auto* asset = find_demo_asset(path);
  if (asset == nullptr)
    return plain_response(request, http::status::not_found, "not found\n");
  if (request.method() != http::verb::get && request.method() != http::verb::head)
    return plain_response(request, http::status::method_not_allowed, "GET only\n");
  http::response<http::string_body> response{http::status::ok, request.version()};
  response.set(http::field::content_type, asset->content_type);
  response.set(http::field::cache_control, "no-cache");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Content-Security-Policy",
               "default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'");
  response.keep_alive(request.keep_alive());
  response.body() = asset->body;
  response.prepare_payload();
  if (request.method() == http::verb::head)
    response.body().clear();
  return response;
}

http::response<http::string_body> route_http(const http::request<http::string_body>& request,
                                             gateway_context& context) {
  const auto path = path_of(request.target());
  // With the demo on, `/` is where a new user's browser lands first.
  if (context.settings.demo && (path == "/" || path == "/demo" || path.starts_with("/demo/")))
    return demo_response(request, path == "/" ? "/demo" : path);
  if (path == "/healthz")
    return plain_response(request, http::status::ok, "ok\n");
  if (path == "/readyz") {
    const bool ready = context.accepting.load();
    return plain_response(request, ready ? http::status::ok : http::status::service_unavailable,
                          ready ? "ready\n" : "not ready\n");
  }
  return plain_response(request, http::status::not_found, "not found\n");
}

template <class Stream>
asio::awaitable<void> serve_requests(Stream& stream, std::shared_ptr<gateway_context> context,
                                     address_table::slot& address) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(max_http_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(context->settings.max_header_bytes));
    beast::get_lowest_layer(stream).expires_after(context->settings.request_timeout);
    auto [ec, bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec == beast::error::timeout && (buffer.size() > 0 || parser.got_some())) {
      metrics::connection_failed(metrics::connection_error::request_timeout);
      co_return;  // a request begun and never finished (slowloris): closed
    }
    if (ec == http::error::header_limit) {
      metrics::connection_failed(metrics::connection_error::header_too_large);
      http::response<http::string_body> too_large{http::status::request_header_fields_too_large,
                                                  11};
      too_large.body() =
          "header over " + std::to_string(context->settings.max_header_bytes) + " bytes\n";
      too_large.keep_alive(false);
      too_large.prepare_payload();
      co_await http::async_write(stream, too_large, use_tuple);
      co_return;
    }
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
    if (is_websocket_upgrade(request)) {
      const auto* where = websocket_endpoint(request.target());
      const bool acceptable = where != nullptr && context->accepting && valid_handshake(request);
      const bool crowded = acceptable && !reserve_unauthenticated(*context);
      if (!acceptable || crowded) {
        if (crowded)
          metrics::connection_failed(metrics::connection_error::unauthenticated_cap);
        auto response =
            where == nullptr ? plain_response(request, http::status::not_found, "not found\n")
            : !context->accepting
                ? plain_response(request, http::status::service_unavailable, "draining\n")
            : !valid_handshake(request)
                ? plain_response(request, http::status::bad_request, "bad WebSocket handshake\n")
                : plain_response(request, http::status::service_unavailable,
                                 "too many connections not logged in\n");
        response.keep_alive(false);
        co_await http::async_write(stream, response, use_tuple);
        co_return;
      }
      co_await upgrade(stream, buffer, std::move(request), context, *where, address);
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

asio::awaitable<void> serve_plain(tcp::socket socket, std::shared_ptr<gateway_context> context,
                                  address_table::slot address) {
  beast::tcp_stream stream(std::move(socket));
  co_await serve_requests(stream, std::move(context), address);
}

// The TLS handshake shares the request deadline: a client that never
// finishes it holds a socket no longer than one that never sends a request.
asio::awaitable<void> serve_tls(tcp::socket socket, std::shared_ptr<gateway_context> context,
                                address_table::slot address) {
  tls_stream stream(std::move(socket), *context->tls);
  beast::get_lowest_layer(stream).expires_after(context->settings.request_timeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
  if (ec) {
    metrics::connection_failed(metrics::connection_error::tls_handshake);
    spdlog::debug("tls handshake failed: {}", ec.message());
    co_return;
  }
  co_await serve_requests(stream, std::move(context), address);
}

}  // namespace

void start_http_session(tcp::socket socket, std::shared_ptr<gateway_context> context, bool tls,
                        address_table::slot address) {
  auto executor = socket.get_executor();
  if (tls)
    asio::co_spawn(executor, serve_tls(std::move(socket), std::move(context), std::move(address)),
                   log_coroutine_failure);
  else
    asio::co_spawn(executor, serve_plain(std::move(socket), std::move(context), std::move(address)),
                   log_coroutine_failure);
}

}  // namespace chatd
