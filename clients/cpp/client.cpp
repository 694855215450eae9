// chatd::client's implementation: the only Beast translation unit of the
// client library (WebSocket client code is the build-time hog).
#include "chatd/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <deque>
#include <random>
#include <unordered_map>

namespace chatd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using ws_stream = websocket::stream<beast::tcp_stream>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct endpoint_url {
  std::string host;
  std::string port;
  std::string target;
};

endpoint_url parse_url(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u)
    throw std::invalid_argument("bad chatd url: " + url);
  endpoint_url out{std::string(u->host()), u->has_port() ? std::string(u->port()) : "80",
                   std::string(u->encoded_target())};
  if (out.target.empty())
    out.target = "/";
  return out;
}

json::object failure(int code, std::string_view message) {
  return {{"code", code}, {"message", message}, {"data", json::object{}}};
}

}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
  asio::any_io_executor executor;
  client_options options;
  endpoint_url url;
  client* owner;

  std::unique_ptr<ws_stream> ws;
  bool connected = false;
  std::uint64_t next_seq = 0;
  std::unordered_map<std::uint64_t, std::function<void(json::object)>> pending;
  std::deque<std::string> outbox;
  bool writing = false;

  std::optional<login_params> wanted;  // log in again after a reconnect
  bool ready = false;
  bool kicked = false;
  std::uint64_t frames_dropped = 0;  // frames whose handling threw (see on_frame_guarded)
  std::string last_frame_error;
  bool finished = false;
  bool reconnecting = false;
  std::string instance;
  std::uint64_t last_seq = 0;  // the highest timeline seq received

  impl(asio::any_io_executor ex, client_options opts, client* c)
      : executor(std::move(ex)), options(std::move(opts)), url(parse_url(options.url)), owner(c) {}

  asio::awaitable<bool> connect() {
    tcp::resolver resolver(executor);
    auto [resolve_ec, results] = co_await resolver.async_resolve(url.host, url.port, use_tuple);
    if (resolve_ec || results.empty())
      co_return false;
    tcp::socket socket(executor);
    const auto remote = results.begin()->endpoint();
    boost::system::error_code ec;
    socket.open(remote.protocol(), ec);
    if (!options.local_address.empty() && !ec)
      socket.bind(tcp::endpoint(asio::ip::make_address(options.local_address, ec), 0), ec);
    if (ec)
      co_return false;
    auto [connect_ec] = co_await socket.async_connect(remote, use_tuple);
    if (connect_ec)
      co_return false;
    socket.set_option(tcp::no_delay(true), ec);  // small frames, latency-bound
    auto stream = std::make_unique<ws_stream>(std::move(socket));
    // Pings when idle, so that chatd's idle timeout never closes a quiet
    // client (a bot waiting for messages), and a dead server is noticed.
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = std::chrono::seconds(120);
    timeouts.keep_alive_pings = true;
    stream->set_option(timeouts);
    auto [handshake_ec] =
        co_await stream->async_handshake(url.host + ":" + url.port, url.target, use_tuple);
    if (handshake_ec)
      co_return false;
    ws = std::move(stream);
    connected = true;
    asio::co_spawn(executor, read_loop(shared_from_this(), ws.get()), asio::detached);
    co_return true;
  }

  void send(std::string text) {
    outbox.push_back(std::move(text));
    if (!writing) {
      writing = true;
      asio::co_spawn(executor, write_loop(shared_from_this()), asio::detached);
    }
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<impl> self) {
    while (!self->outbox.empty() && self->connected) {
      auto* stream = self->ws.get();
      stream->text(true);
      auto [ec, n] = co_await stream->async_write(asio::buffer(self->outbox.front()), use_tuple);
      if (ec)
        break;
      self->outbox.pop_front();
    }
    self->writing = false;
  }

  // Registers the reply slot and sends the frame. A plain function, not a
  // coroutine: GCC 12 double-destroys lambda captures inside coroutines.
  asio::awaitable<json::object> send_request(std::uint64_t seq, std::string text) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(json::object)>(
        [self = shared_from_this(), seq, text = std::move(text)](auto handler) mutable {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          self->pending[seq] = [shared, ex = self->executor](json::object reply) {
            asio::post(
                ex, [shared, reply = std::move(reply)]() mutable { (*shared)(std::move(reply)); });
          };
          self->send(std::move(text));
        },
        asio::use_awaitable);
  }

  asio::awaitable<json::object> request(std::string op, json::object data) {
    if (!connected)
      co_return failure(code_network_error, "not connected");
    const auto seq = ++next_seq;
    json::object frame;
    frame["seq"] = seq;
    frame["op"] = op;
    frame["data"] = std::move(data);
    co_return co_await send_request(seq, json::serialize(frame));
  }

  static asio::awaitable<void> read_loop(std::shared_ptr<impl> self, ws_stream* stream) {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await stream->async_read(buffer, use_tuple);
      if (ec || self->ws.get() != stream)
        break;
      boost::system::error_code parse_ec;
      auto frame = json::parse(beast::buffers_to_string(buffer.data()), parse_ec);
      buffer.clear();
      if (!parse_ec && frame.is_object())
        self->on_frame_guarded(frame.as_object());
    }
    if (self->ws.get() == stream)
      self->on_connection_lost();
  }

  // The read loop is a detached coroutine: an exception from a frame (or
  // from a user callback) must not end it silently. The frame is dropped,
  // the connection goes on.
  void on_frame_guarded(json::object& frame) {
    try {
      on_frame(frame);
    } catch (const std::exception& e) {
      ++frames_dropped;
      last_frame_error = e.what();
    }
  }

  void on_frame(json::object& frame) {
    if (const auto* event = frame.if_contains("event"); event != nullptr && event->is_string()) {
      // Lookups only: operator[] may grow the object and move `event`.
      static const json::object no_data;
      const auto* data = frame.if_contains("data");
      on_event(event->get_string(),
               data != nullptr && data->is_object() ? data->get_object() : no_data);
      return;
    }
    const auto* seq = frame.if_contains("seq");
    if (seq == nullptr || !seq->is_number())
      return;
    auto it = pending.find(seq->to_number<std::uint64_t>());
    if (it == pending.end())
      return;
    follow_timeline_head(frame);
    auto done = std::move(it->second);
    pending.erase(it);
    done(std::move(frame));
  }

  // A resuming login's answer names its timeline's head. A resume point
  // past it (a reset store, another server) would drop every new entry as
  // "already received": the client starts over from the head, before the
  // next frame is read.
  void follow_timeline_head(const json::object& frame) {
    const auto* data = frame.if_contains("data");
    const auto* head =
        data && data->is_object() ? data->get_object().if_contains("timelineHead") : nullptr;
    if (head == nullptr || !head->is_number())
      return;
    const auto at = head->to_number<std::uint64_t>();
    if (at >= last_seq)
      return;
    last_seq = at;
    if (wanted && wanted->sync_from_seq)
      wanted->sync_from_seq = at;
    if (owner && owner->on_timeline_reset)
      owner->on_timeline_reset(at);
  }

  void on_event(std::string_view name, const json::object& data) {
    if (name == "sdkStateReady") {
      ready = true;
      if (const auto* id = data.if_contains("instanceID"); id && id->is_string())
        instance = std::string(id->get_string());
      if (owner && owner->on_ready)
        owner->on_ready(instance);
    } else if (name == "kickedOut") {
      kicked = true;
      ready = false;
      wanted.reset();
      std::optional<kicked_by> by;
      if (const auto* b = data.if_contains("by"); b && b->is_object()) {
        const auto* platform = b->get_object().if_contains("platform");
        const auto* id = b->get_object().if_contains("instanceID");
        if (platform && platform->is_string() && id && id->is_string())
          by = kicked_by{std::string(platform->get_string()), std::string(id->get_string())};
      }
      const auto* type = data.if_contains("type");
      if (owner && owner->on_kicked_out)
        owner->on_kicked_out(type && type->is_string() ? std::string(type->get_string()) : "", by);
    } else if (name == "messageReceived") {
      on_message_event(data);
    } else if (name == "messageReadByPeer") {
      const auto* t = data.if_contains("readTime");
      if (owner && owner->on_read_by_peer)
        owner->on_read_by_peer(string_at(data, "userID"),
                               t != nullptr && t->is_number() ? t->to_number<std::int64_t>() : 0);
    } else if (name == "sdkStateNotReady") {
      ready = false;
      const auto* reason = data.if_contains("reason");
      if (owner && owner->on_not_ready)
        owner->on_not_ready(reason && reason->is_number() ? reason->to_number<int>() : 0);
    }
  }

  static std::string string_at(const json::object& data, std::string_view key) {
    const auto* v = data.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
  }

  void on_message_event(const json::object& data) {
    const auto* seq = data.if_contains("seq");
    if (seq == nullptr || !seq->is_number())
      return;
    auto m = message_from(data);
    if (!m.online_only) {
      if (m.seq <= last_seq)
        return;  // already received (a resumed sync overlapping live entries)
      last_seq = m.seq;
    }
    if (owner && owner->on_message)
      owner->on_message(m);
  }

  // A messageReceived event's data (also a conversation's last message).
  static received_message message_from(const json::object& data) {
    received_message m;
    if (const auto* seq = data.if_contains("seq"); seq != nullptr && seq->is_number())
      m.seq = seq->to_number<std::uint64_t>();
    const auto* online_only = data.if_contains("onlineOnly");
    m.online_only = online_only != nullptr && online_only->is_bool() && online_only->get_bool();
    m.from = string_at(data, "from");
    m.to = string_at(data, "to");
    m.text = string_at(data, "text");
    if (const auto* custom = data.if_contains("custom"); custom != nullptr && custom->is_object())
      m.custom = custom_content{string_at(custom->get_object(), "data"),
                                string_at(custom->get_object(), "description"),
                                string_at(custom->get_object(), "extension")};
    m.message_id = string_at(data, "messageID");
    m.client_msg_id = string_at(data, "clientMsgID");
    if (const auto* t = data.if_contains("time"); t != nullptr && t->is_number())
      m.time_ms = t->to_number<std::int64_t>();
    m.outgoing = string_at(data, "flow") == "out";
    return m;
  }

  void on_connection_lost() {
    connected = false;
    ws.reset();
    auto waiting = std::move(pending);
    pending.clear();
    for (auto& [seq, done] : waiting)
      done(failure(code_network_error, "connection lost"));
    if (std::exchange(ready, false) && owner && owner->on_not_ready)
      owner->on_not_ready(code_network_error);
    if (wanted && !kicked && !finished && options.reconnect && !reconnecting) {
      reconnecting = true;
      asio::co_spawn(executor, reconnect_loop(shared_from_this()), asio::detached);
    }
  }

  static asio::awaitable<void> reconnect_loop(std::shared_ptr<impl> self) {
    std::mt19937 rng(std::random_device{}());
    auto backoff = self->options.reconnect_min;
    asio::steady_timer timer(self->executor);
    for (int attempt = 1; self->wanted && !self->finished; ++attempt) {
      if (self->owner && self->owner->on_reconnecting)
        self->owner->on_reconnecting(attempt);
      // Full jitter keeps thousands of clients from reconnecting in lockstep.
      timer.expires_after(std::chrono::milliseconds(
          std::uniform_int_distribution<std::int64_t>(backoff.count() / 2, backoff.count())(rng)));
      co_await timer.async_wait(use_tuple);
      backoff = std::min(backoff * 2, self->options.reconnect_max);
      if (self->finished || !self->wanted || !co_await self->connect())
        continue;
      // Resume after what was received, if the login asked for a sync.
      if (self->wanted->sync_from_seq)
        self->wanted->sync_from_seq = std::max(*self->wanted->sync_from_seq, self->last_seq);
      const auto result = co_await self->send_login(*self->wanted);
      if (result.code == 0)
        break;
      if (result.code != code_network_error) {  // the sig expired, the user was kicked, ...
        self->wanted.reset();
        if (self->owner && self->owner->on_not_ready)
          self->owner->on_not_ready(result.code);
        break;
      }
    }
    self->reconnecting = false;
  }

  asio::awaitable<login_result> send_login(const login_params& p) {
    // Built outside the co_await: GCC 12 mishandles initializer lists there.
    json::object data;
    data["SDKAppID"] = p.sdkappid;
    data["userID"] = p.user_id;
    data["userSig"] = p.user_sig;
    data["platform"] = p.platform;
    if (p.sync_from_seq)
      data["syncFromSeq"] = *p.sync_from_seq;
    auto reply = co_await request(std::string("login"), std::move(data));
    login_result r;
    r.code = reply.at("code").to_number<int>();
    r.message = json::value_to<std::string>(reply.at("message"));
    if (r.code == 0) {
      const auto& data = reply.at("data").as_object();
      r.instance_id = json::value_to<std::string>(data.at("instanceID"));
      r.server_time_ms = data.at("serverTime").to_number<std::int64_t>();
      r.sig_expire_at_ms = data.at("sigExpireAt").to_number<std::int64_t>();
      r.repeat_login = data.at("repeatLogin").as_bool();
      kicked = false;
    }
    co_return r;
  }

  void close() {
    finished = true;
    wanted.reset();
    if (ws) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(*ws).socket().close(ignored);
    }
  }
};

client::client(asio::any_io_executor executor, client_options options)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(options), this)) {}

client::~client() {
  impl_->owner = nullptr;
  impl_->close();
}

namespace {

asio::awaitable<login_result> login_with(std::shared_ptr<client::impl> self,
                                         std::shared_ptr<const login_params> params) {
  if (!self->connected && !co_await self->connect()) {
    login_result failed;
    failed.code = code_network_error;
    failed.message = "cannot connect to " + self->options.url;
    co_return failed;
  }
  self->last_seq = params->sync_from_seq.value_or(0);
  auto result = co_await self->send_login(*params);
  if (result.code == 0 && !result.repeat_login)
    self->wanted = *params;
  co_return result;
}

}  // namespace

// Not a coroutine: the parameters are copied before anything suspends (GCC 12
// mishandles class-type coroutine parameters built from braced temporaries).
asio::awaitable<login_result> client::login(login_params params) {
  return login_with(impl_, std::make_shared<const login_params>(std::move(params)));
}

asio::awaitable<int> client::logout() {
  auto self = impl_;
  self->wanted.reset();
  auto reply = co_await self->request(std::string("logout"), {});
  co_return reply.at("code").to_number<int>();
}

asio::awaitable<std::int64_t> client::server_time() {
  auto self = impl_;
  auto reply = co_await self->request(std::string("getServerTime"), {});
  const int code = reply.at("code").to_number<int>();
  if (code != 0)
    co_return -code;
  co_return reply.at("data").at("serverTime").to_number<std::int64_t>();
}

asio::awaitable<void> client::destroy() {
  auto self = impl_;
  self->wanted.reset();
  if (self->connected)
    co_await self->request(std::string("destroy"), {});
  self->close();
}

asio::awaitable<send_result> client::send_message(std::string to, std::string text,
                                                  std::string client_msg_id) {
  return send_message(std::move(to), message_content{std::move(text), std::nullopt, false},
                      std::move(client_msg_id));
}

asio::awaitable<send_result> client::send_message(std::string to, message_content content,
                                                  std::string client_msg_id) {
  auto self = impl_;
  json::object data;
  data["to"] = std::move(to);
  if (content.custom)
    data["custom"] = json::object{{"data", std::move(content.custom->data)},
                                  {"description", std::move(content.custom->description)},
                                  {"extension", std::move(content.custom->extension)}};
  else
    data["text"] = std::move(content.text);
  if (content.online_only)
    data["onlineOnly"] = true;
  if (!client_msg_id.empty())
    data["clientMsgID"] = std::move(client_msg_id);
  auto reply = co_await self->request(std::string("sendMessage"), std::move(data));
  send_result r;
  r.code = reply.at("code").to_number<int>();
  if (r.code == 0) {
    const auto& out = reply.at("data").as_object();
    r.message_id = json::value_to<std::string>(out.at("messageID"));
    r.seq = out.at("seq").to_number<std::uint64_t>();
    r.time_ms = out.at("time").to_number<std::int64_t>();
  }
  co_return r;
}

namespace {

std::int64_t number_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_number() ? v->to_number<std::int64_t>() : 0;
}

}  // namespace

asio::awaitable<conversation_list> client::get_conversation_list() {
  auto self = impl_;
  auto reply = co_await self->request(std::string("getConversationList"), {});
  conversation_list out;
  out.code = reply.at("code").to_number<int>();
  if (out.code != 0)
    co_return out;
  const auto& data = reply.at("data").as_object();
  out.total_unread = static_cast<std::uint64_t>(number_at(data, "totalUnreadCount"));
  for (const auto& item : data.at("conversations").as_array()) {
    const auto& c = item.as_object();
    out.conversations.push_back({impl::string_at(c, "userID"),
                                 static_cast<std::uint64_t>(number_at(c, "unreadCount")),
                                 number_at(c, "readTime"), number_at(c, "peerReadTime"),
                                 impl::message_from(c.at("lastMessage").as_object())});
  }
  co_return out;
}

asio::awaitable<int> client::set_message_read(std::string peer) {
  auto self = impl_;
  json::object data;
  data["userID"] = std::move(peer);
  auto reply = co_await self->request(std::string("setMessageRead"), std::move(data));
  co_return reply.at("code").to_number<int>();
}

asio::awaitable<int> client::renew_user_sig(std::string user_sig) {
  auto self = impl_;
  json::object data;
  data["userSig"] = user_sig;
  auto reply = co_await self->request(std::string("renewUserSig"), std::move(data));
  const int code = reply.at("code").to_number<int>();
  if (code == 0 && self->wanted)
    self->wanted->user_sig = std::move(user_sig);
  co_return code;
}

std::uint64_t client::last_seq() const {
  return impl_->last_seq;
}

void client::drop_connection() {
  if (impl_->ws) {
    boost::system::error_code ignored;
    beast::get_lowest_layer(*impl_->ws).socket().close(ignored);
  }
}

bool client::ready() const {
  return impl_->ready;
}

const std::string& client::instance_id() const {
  return impl_->instance;
}

}  // namespace chatd
