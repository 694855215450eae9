#include "gateway/message_flow.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "actors/session_service.hpp"
#include "gateway/actor_ask.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/peer.hpp"
#include "metrics/metrics.hpp"
#include "protocol/login_request.hpp"

namespace chatd {
namespace asio = boost::asio;

namespace {

constexpr std::int64_t ms_per_day = 24LL * 3600 * 1000;

// Runs on the store's thread, in commit order: the entries go to the
// actors in that order, so every instance sees its timeline in seq order.
void hand_over(session_service& sessions, const appended_message& appended,
               const std::string& sending_instance) {
  if (appended.duplicate)
    return;  // delivered when it was first sent
  sessions.deliver(appended.recipient, sending_instance);
  if (appended.sender)
    sessions.deliver(*appended.sender, sending_instance);
  metrics::message_sent(appended.recipient.message->sdkappid);
}

asio::awaitable<outcome<std::optional<appended_message>>> append(gateway_context& context,
                                                                 append_request request,
                                                                 std::string sending_instance) {
  auto shared = std::make_shared<append_request>(std::move(request));
  return ask<std::optional<appended_message>>(
      [&context, shared,
       sending = std::move(sending_instance)](reply<std::optional<appended_message>> done) {
        shared->done = [&sessions = context.sessions, sending,
                        done](std::optional<appended_message> appended) {
          if (appended)
            hand_over(sessions, *appended, sending);
          done(std::move(appended));
        };
        context.messages.append(std::move(*shared));
      });
}

errc check_recipient(gateway_context& context, const chat_message& m) {
  if (!is_valid_user_id(m.to) || !context.backend.account_known(m.sdkappid, m.to))
    return errc::recipient_invalid;
  return check_body(m);
}

// An online-only message is never stored: it is stamped here as the store
// stamps the others, and handed to the recipient's online instances only
// (an entry with seq 0, which no timeline holds and no sync reads).
appended_message hand_over_online_only(session_service& sessions, chat_message m,
                                       std::string sending_instance) {
  m.time_ms = wall_clock_ms();
  if (m.client_seq == 0)
    m.client_seq = new_message_random();
  if (m.client_time_s == 0)
    m.client_time_s = m.time_ms / 1000;
  m.message_id = message_key(m.client_seq, m.random, m.time_ms / 1000);
  appended_message sent;
  sent.recipient =
      timeline_entry{0, message_flow::in, std::make_shared<const chat_message>(std::move(m))};
  sessions.deliver(sent.recipient, std::move(sending_instance));
  return sent;
}

bool same_login(peer& self, std::uint64_t attempt) {
  return self.instance().attempt() == attempt && self.login().has_value() && !self.link().closing();
}

}  // namespace

asio::awaitable<outcome<timeline_page>> read_page(message_store& store, std::uint32_t sdkappid,
                                                  std::string user_id,
                                                  std::optional<std::uint64_t> after,
                                                  std::size_t max_entries,
                                                  std::uint64_t after_at_most) {
  return ask<timeline_page>([&store, sdkappid, user = std::move(user_id), after, max_entries,
                             after_at_most](reply<timeline_page> done) {
    store.read_timeline(sdkappid, user, after, after_at_most, max_entries,
                        [done](timeline_page page) { done(std::move(page)); });
  });
}

asio::awaitable<sent_message> send_message(gateway_context& context, outgoing_message out) {
  auto& m = out.message;
  m.received_steady_ns = std::chrono::steady_clock::now().time_since_epoch().count();
  if (const auto code = check_recipient(context, m); code != errc::ok)
    co_return sent_message{code, {}};
  auto app = context.backend.find_app(m.sdkappid);
  if (!app)
    co_return sent_message{errc::sdkappid_not_found, {}};
  if (m.random == 0)
    m.random = new_message_random();
  if (m.online_only)
    co_return sent_message{errc::ok, hand_over_online_only(context.sessions, std::move(m),
                                                           std::move(out.sending_instance))};
  append_request request;
  request.copy_to_sender = out.copy_to_sender;
  request.max_timeline_messages = app->max_timeline_messages;
  request.retention_ms = app->message_retention_days * ms_per_day;
  request.message = std::move(m);
  auto answer = co_await append(context, std::move(request), std::move(out.sending_instance));
  if (!answer.ok() || !answer.value) {
    spdlog::error("send: the message store {}", answer.ok() ? "failed" : "did not answer");
    co_return sent_message{errc::internal_error, {}};
  }
  co_return sent_message{errc::ok, std::move(*answer.value)};
}

asio::awaitable<sent_message> send_message(gateway_context& context,
                                           std::variant<outgoing_message, errc> request) {
  if (auto* refused = std::get_if<errc>(&request))
    co_return sent_message{*refused, {}};
  co_return co_await send_message(context, std::move(std::get<outgoing_message>(request)));
}

asio::awaitable<outcome<std::vector<timeline_entry>>> read_conversation(message_store& store,
                                                                        conversation_query query) {
  return ask<std::vector<timeline_entry>>(
      [&store, query = std::move(query)](reply<std::vector<timeline_entry>> done) mutable {
        store.read_conversation(std::move(query),
                                [done](std::vector<timeline_entry> e) { done(std::move(e)); });
      });
}

asio::awaitable<void> sync_timeline(std::shared_ptr<peer> self, std::optional<std::uint64_t> after,
                                    sync_page_handler show) {
  const auto attempt = self->instance().attempt();
  const auto sdkappid = self->login()->sdkappid;
  const auto user_id = self->login()->user_id;
  auto& link = self->link();
  auto& timeline = self->instance().timeline();
  // A page fits in a quarter of the outbox (drained() leaves it at most half full).
  const auto page_entries = std::clamp<std::size_t>(link.capacity() / 4, 1, sync_page_entries);
  bool first = true;
  for (;;) {
    auto page = co_await read_page(self->context().messages, sdkappid, user_id, after, page_entries,
                                   timeline.cover_after());
    if (!same_login(*self, attempt))
      co_return;
    if (!page.ok()) {
      spdlog::error("sync app={} user={}: the message store did not answer", sdkappid, user_id);
      timeline.abandon_sync();
      co_return;
    }
    auto& entries = page.value.entries;
    show(entries, std::exchange(first, false));
    const bool last_page = entries.size() < page_entries;
    if (last_page && timeline.finish_sync_if_caught_up(page.value.head))
      co_return;
    after = entries.empty() ? page.value.head : entries.back().seq;
    co_await self->drained();
    if (!same_login(*self, attempt))
      co_return;
  }
}

}  // namespace chatd
