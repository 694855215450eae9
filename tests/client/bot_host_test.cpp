// chatd::bot_host against a real chatd process: exactly-once, in-order
// handling through a queue that overflows, replies, sig renewal, metrics.
#include <prometheus/registry.h>

#include <doctest/doctest.h>

#include "chatd/bot_host.hpp"
#include "chatd/client.hpp"
#include "scenario.hpp"

using namespace chatd::test;

namespace {

struct handled_log {
  std::vector<std::uint64_t> seqs;  // in the order the handler saw them
  std::vector<std::string> texts;
};

// A slow handler: the bot's queue (limit 4) overflows under a burst.
asio::awaitable<void> slow_echo(chatd::bot& bot, chatd::received_message m, handled_log* log) {
  log->seqs.push_back(m.seq);
  log->texts.push_back(m.text);
  asio::steady_timer pause(co_await asio::this_coro::executor, 15ms);
  co_await pause.async_wait(asio::use_awaitable);
  co_await bot.send(m.from, "re: " + m.text);
}

double metric(const chatd::bot_host& host, const std::string& name) {
  for (const auto& family : host.metrics()->Collect())
    if (family.name == name && !family.metric.empty()) {
      const auto& m = family.metric.front();
      return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  return -1;
}

void count_replies(chatd::client& c, int& replies) {
  c.on_message = [&replies](const chatd::received_message& m) {
    if (!m.outgoing && m.text.starts_with("re: "))
      ++replies;
  };
}

asio::awaitable<void> burst_through_a_small_queue(asio::io_context& io, chatd_process& server) {
  handled_log log;
  chatd::bot_host_options options;
  options.url = server.url();
  options.sdkappid = app;
  options.secret_key = key;
  options.queue_limit = 4;
  options.reconnect_min = 20ms;
  chatd::bot_host host(
      io.get_executor(), options,
      [&log](chatd::bot& b, const chatd::received_message& m) { return slow_echo(b, m, &log); });
  host.add("b-bot");
  co_await host.start();
  CHECK(host.stats().online == 1);

  chatd::client sender(io.get_executor(), {.url = server.url()});
  int replies = 0;
  count_replies(sender, replies);
  const chatd::login_params params{
      .sdkappid = app, .user_id = "b-sender", .user_sig = sig_for("b-sender")};
  REQUIRE((co_await sender.login(params)).code == 0);
  constexpr int burst = 30;
  for (int i = 0; i < burst; ++i) {
    const auto r = co_await sender.send_message("b-bot", "m" + std::to_string(i));
    REQUIRE(r.code == 0);
  }
  WAIT_UNTIL(io, replies == burst);
  const auto st = host.stats();
  INFO("handled " << st.messages_in << ", sent " << st.messages_out << ", online " << st.online
                  << ", reconnects " << st.reconnects << ", overflows " << st.overflows);
  CHECK(replies == burst);
  REQUIRE(log.seqs.size() == burst);  // each once, none lost to the overflow
  for (std::size_t i = 0; i < log.seqs.size(); ++i) {
    CHECK(log.texts[i] == "m" + std::to_string(i));
    if (i > 0)
      CHECK(log.seqs[i] > log.seqs[i - 1]);  // timeline order (its own replies sit between)
  }
  WAIT_UNTIL(io, host.stats().online == 1);  // back from the last overflow's resync
  // A reply reaches the sender before its send's answer reaches the bot
  // (chatd delivers on commit, then answers), and the bot counts a
  // message handled when its handler's send was answered.
  WAIT_UNTIL(io, host.stats().messages_out == burst);
  CHECK(host.stats().overflows > 0);
  CHECK(host.stats().messages_in == burst);
  CHECK(host.stats().messages_out == burst);
  CHECK(host.handled_seq("b-bot") >= log.seqs.back());
  CHECK(metric(host, "chatd_bot_messages_handled_total") == burst);
  CHECK(metric(host, "chatd_bot_messages_sent_total") == burst);
  CHECK(metric(host, "chatd_bots_online") == 1);
  co_await host.stop();
  CHECK(host.stats().online == 0);
  co_await sender.destroy();
}

asio::awaitable<void> ignore(chatd::bot&, chatd::received_message) {
  co_return;
}

asio::awaitable<void> renews_before_expiry(asio::io_context& io, chatd_process& server) {
  int sigs_made = 0;
  chatd::bot_host_options options;
  options.url = server.url();
  options.sdkappid = app;
  options.sig_lifetime = 3s;
  options.usersig_provider = [&sigs_made](const std::string& user) {
    ++sigs_made;
    return sig_for(user, 3);  // valid 3 s: without renewal the bot is kicked (userSigExpired)
  };
  chatd::bot_host host(
      io.get_executor(), options,
      [](chatd::bot& b, const chatd::received_message& m) { return ignore(b, m); });
  host.add("r-bot");
  co_await host.start();
  REQUIRE(host.stats().online == 1);
  co_await sleep_for(io, 6500ms);
  CHECK(host.stats().online == 1);
  CHECK(sigs_made >= 3);  // the login and at least two renewals
  CHECK(host.stats().reconnects == 0);
  co_await host.stop();
}

// A bot that answers a card with a card: custom in, custom out.
asio::awaitable<void> answer_cards(chatd::bot& bot, chatd::received_message m,
                                   std::vector<chatd::received_message>* seen) {
  seen->push_back(m);
  if (!m.custom)
    co_return;
  co_await bot.mark_read(m.from);
  // Named, not a braced temporary in the co_await: GCC 12 frees those twice.
  chatd::message_content reply;
  reply.custom = chatd::custom_content{"re:" + m.custom->data, "", ""};
  co_await bot.send(m.from, reply);
}

asio::awaitable<void> custom_and_typing(asio::io_context& io, chatd_process& server) {
  std::vector<chatd::received_message> seen;
  chatd::bot_host_options options;
  options.url = server.url();
  options.sdkappid = app;
  options.secret_key = key;
  chatd::bot_host host(io.get_executor(), options,
                       [&seen](chatd::bot& b, const chatd::received_message& m) {
                         return answer_cards(b, m, &seen);
                       });
  host.add("c-bot");
  co_await host.start();
  chatd::client user(io.get_executor(), {.url = server.url()});
  std::vector<chatd::received_message> got;
  user.on_message = [&got](const chatd::received_message& m) { got.push_back(m); };
  std::vector<std::string> read_by;
  user.on_read_by_peer = [&read_by](const std::string& peer, std::int64_t read_time_ms) {
    if (read_time_ms > 0)
      read_by.push_back(peer);
  };
  const chatd::login_params params{
      .sdkappid = app, .user_id = "c-user", .user_sig = sig_for("c-user")};
  REQUIRE((co_await user.login(params)).code == 0);
  chatd::message_content typing;
  typing.custom = chatd::custom_content{"typing", "", ""};
  typing.online_only = true;
  const auto typed = co_await user.send_message("c-bot", typing);
  CHECK(typed.code == 0);
  CHECK(typed.seq == 0);  // online-only: in no timeline
  chatd::message_content card;
  card.custom = chatd::custom_content{"card-1", "a card", "x"};
  const auto carded = co_await user.send_message("c-bot", card);
  REQUIRE(carded.code == 0);
  WAIT_UNTIL(io, !got.empty());
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].custom);
  CHECK(got[0].custom->data == "re:card-1");
  CHECK(got[0].text.empty());
  REQUIRE(seen.size() == 1);  // the typing message never reached the handler
  CHECK(seen[0].custom->description == "a card");
  CHECK(seen[0].custom->extension == "x");
  CHECK_FALSE(seen[0].online_only);
  WAIT_UNTIL(io, !read_by.empty());  // the bot marked the card read
  CHECK(read_by[0] == "c-bot");
  // The user's conversation: the bot's reply, unread until read.
  const auto before = co_await user.get_conversation_list();
  REQUIRE(before.code == 0);
  REQUIRE(before.conversations.size() == 1);
  CHECK(before.conversations[0].user_id == "c-bot");
  CHECK(before.conversations[0].unread_count == 1);
  CHECK(before.total_unread == 1);
  CHECK(before.conversations[0].peer_read_time_ms > 0);
  REQUIRE(before.conversations[0].last_message.custom);
  CHECK(before.conversations[0].last_message.custom->data == "re:card-1");
  CHECK((co_await user.set_message_read("c-bot")) == 0);
  const auto after = co_await user.get_conversation_list();
  CHECK(after.total_unread == 0);
  co_await host.stop();
  co_await user.destroy();
}

}  // namespace

TEST_CASE("bot_host: a bot sends and handles custom messages and never sees online-only ones") {
  run_scenario(custom_and_typing);
}

TEST_CASE("bot_host: a burst through a small queue is handled once each, in order, and answered") {
  run_scenario(burst_through_a_small_queue);
}

TEST_CASE("bot_host: renews the UserSig before it expires, from the user's provider") {
  run_scenario(renews_before_expiry);
}
