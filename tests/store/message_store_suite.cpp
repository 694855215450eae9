// One suite for every message_store backend (SQLite, PostgreSQL): seqs,
// group commit, reads, retention, idempotent retries, reopening as after a
// restart.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "backends.hpp"
#include "timeline_helpers.hpp"

using namespace chatd;
using namespace chatd::test;

TEST_CASE_TEMPLATE("a message goes to both timelines with their own seqs, and survives reopening",
                   B, sqlite_backend, postgres_backend) {
  B backend;
  std::string message_id;
  {
    auto store = backend.open_messages();
    auto first = append_now(*store, text_message("alice", "bob", "hello"));
    REQUIRE(first);
    CHECK(first->recipient.seq == 1);
    CHECK(first->recipient.flow == message_flow::in);
    REQUIRE(first->sender);
    CHECK(first->sender->seq == 1);
    CHECK(first->sender->flow == message_flow::out);
    CHECK(first->recipient.message->time_ms > 0);
    message_id = first->recipient.message->message_id;
    CHECK(!message_id.empty());
    auto reply = append_now(*store, text_message("bob", "alice", "hi"));
    CHECK(reply->recipient.seq == 2);  // alice: out 1, in 2
    CHECK(reply->sender->seq == 2);    // bob: in 1, out 2
    auto to_self = append_now(*store, text_message("bob", "bob", "note"));
    CHECK(to_self->recipient.seq == 3);
    CHECK(!to_self->sender);  // one entry only
    CHECK(store->stored_entries() == 5);
  }
  auto store = backend.open_messages();
  CHECK(store->stored_entries() == 5);
  const auto bob = read_now(*store, "bob", 0);
  REQUIRE(bob.entries.size() == 3);
  CHECK(bob.head == 3);
  CHECK(bob.entries[0].message->text == "hello");
  CHECK(bob.entries[0].message->message_id == message_id);
  CHECK(bob.entries[1].flow == message_flow::out);
  CHECK(bob.entries[2].message->text == "note");
  // Seqs continue after a restart.
  CHECK(append_now(*store, text_message("carol", "bob", "later"))->recipient.seq == 4);
  CHECK(read_now(*store, "bob", 3).entries.size() == 1);
}

TEST_CASE_TEMPLATE("concurrent sends get gap-free seqs in commit order, in few transactions", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_messages();
  constexpr int senders = 8;
  constexpr int each = 250;
  std::mutex mutex;
  std::vector<std::uint64_t> order;  // bob's seqs, in callback order
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s)
    threads.emplace_back([&, s] {
      for (int i = 0; i < each; ++i) {
        append_request request;
        request.message = text_message("sender" + std::to_string(s), "bob", std::to_string(i));
        request.done = [&](std::optional<appended_message> r) {
          REQUIRE(r);
          std::lock_guard lock(mutex);
          order.push_back(r->recipient.seq);
          ++answered;
        };
        store->append(std::move(request));
      }
    });
  for (auto& t : threads)
    t.join();
  while (answered < senders * each)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (std::size_t i = 0; i < order.size(); ++i)
    REQUIRE(order[i] == i + 1);
  const auto page = read_now(*store, "bob", 0, 10000);
  CHECK(page.entries.size() == senders * each);
}

TEST_CASE_TEMPLATE("max_timeline_messages keeps the newest entries, and seqs are never reused", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_messages();
  for (int i = 1; i <= 5; ++i)
    append_now(*store, text_message("alice", "bob", std::to_string(i)), true, 3);
  const auto page = read_now(*store, "bob", 0);
  REQUIRE(page.entries.size() == 3);
  CHECK(page.entries.front().seq == 3);
  CHECK(page.entries.back().message->text == "5");
  CHECK(store->stored_entries() == 6);  // 3 for bob, 3 for alice
}

TEST_CASE_TEMPLATE("entries past their retention are never read, and their seqs are not reused", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_messages();
  REQUIRE(append_expired(*store, text_message("alice", "bob", "short-lived")));
  CHECK(read_now(*store, "bob", 0).entries.empty());
  CHECK(append_now(*store, text_message("alice", "bob", "kept"))->recipient.seq == 2);
}

TEST_CASE_TEMPLATE("a conversation reads one pair, newest first, bounded by time and count", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_messages();
  for (int i = 1; i <= 4; ++i)
    append_now(*store, text_message("alice", "bob", "ab" + std::to_string(i)));
  append_now(*store, text_message("carol", "bob", "cb"));
  append_now(*store, text_message("bob", "alice", "ba"));
  conversation_query q;
  q.sdkappid = 1;
  q.owner = "bob";
  q.peer = "alice";
  q.max_count = 3;
  auto newest = conversation_now(*store, q);
  REQUIRE(newest.size() == 3);
  CHECK(newest[0].message->text == "ba");
  CHECK(newest[1].message->text == "ab4");
  q.newest_first = false;
  q.max_count = 100;
  auto all = conversation_now(*store, q);
  REQUIRE(all.size() == 5);
  CHECK(all[0].message->text == "ab1");
  q.max_time_ms = all[0].message->time_ms - 1;
  CHECK(conversation_now(*store, q).empty());
}

TEST_CASE_TEMPLATE(
    "the delivered mark: an SDK login reads what no instance got yet, also after reopening", B,
    sqlite_backend, postgres_backend) {
  B backend;
  {
    auto store = backend.open_messages();
    for (int i = 1; i <= 4; ++i)
      append_now(*store, text_message("alice", "bob", std::to_string(i)));
    CHECK(read_now(*store, "bob", std::nullopt).entries.size() == 4);
    store->note_delivered(1, "bob", 3);
    const auto rest = read_now(*store, "bob", std::nullopt);
    REQUIRE(rest.entries.size() == 1);
    CHECK(rest.entries[0].seq == 4);
    append_now(*store, text_message("alice", "bob", "flush"));  // writes the mark too
  }
  auto store = backend.open_messages();
  CHECK(read_now(*store, "bob", std::nullopt).entries.size() == 2);
}

TEST_CASE_TEMPLATE("a repeated clientMsgID of the same sender is idempotent, also after reopening",
                   B, sqlite_backend, postgres_backend) {
  B backend;
  std::uint64_t first_seq = 0;
  std::string first_id;
  {
    auto store = backend.open_messages();
    auto m = text_message("alice", "bob", "once");
    m.client_msg_id = "retry-1";
    const auto first = append_now(*store, m);
    REQUIRE(first);
    CHECK(!first->duplicate);
    first_seq = first->recipient.seq;
    first_id = first->recipient.message->message_id;
    const auto again = append_now(*store, m);
    REQUIRE(again);
    CHECK(again->duplicate);
    CHECK(again->recipient.seq == first_seq);
    CHECK(again->recipient.message->message_id == first_id);
    REQUIRE(again->sender);
    CHECK(again->sender->seq == first->sender->seq);
    CHECK(store->stored_entries() == 2);
    // Another sender may use the same clientMsgID.
    auto other = text_message("carol", "bob", "mine");
    other.client_msg_id = "retry-1";
    CHECK(!append_now(*store, other)->duplicate);
  }
  auto store = backend.open_messages();
  auto m = text_message("alice", "bob", "once");
  m.client_msg_id = "retry-1";
  const auto after_restart = append_now(*store, m);
  CHECK(after_restart->duplicate);
  CHECK(after_restart->recipient.message->message_id == first_id);
  CHECK(read_now(*store, "bob", 0).entries.size() == 2);
}

TEST_CASE("PostgreSQL: two nodes appending to the same timelines get distinct, gap-free seqs") {
  postgres_backend backend;
  auto node1 = backend.open_messages();
  auto node2 = backend.open_messages();
  constexpr int each = 300;
  std::mutex mutex;
  std::vector<std::uint64_t> seqs;
  std::atomic<int> answered{0};
  std::atomic<int> refused{0};
  auto send_all = [&](message_store& node, const std::string& sender) {
    for (int i = 0; i < each; ++i) {
      append_request request;
      request.message = text_message(sender, "bob", std::to_string(i));
      request.done = [&](std::optional<appended_message> r) {
        if (!r) {
          ++refused;
        } else {
          std::lock_guard lock(mutex);
          seqs.push_back(r->recipient.seq);
        }
        ++answered;
      };
      node.append(std::move(request));
    }
  };
  // alice -> bob on one node and bob's own copies on the other: both touch
  // alice's and bob's timelines, in opposite orders (no deadlock).
  std::thread t1([&] { send_all(*node1, "alice"); });
  std::thread t2([&] { send_all(*node2, "carol"); });
  std::thread t3([&] {
    for (int i = 0; i < each; ++i) {
      append_request request;
      request.message = text_message("bob", "alice", std::to_string(i));
      request.done = [&](std::optional<appended_message> r) {
        if (!r)
          ++refused;
        ++answered;
      };
      node2->append(std::move(request));
    }
  });
  t3.join();
  t1.join();
  t2.join();
  while (answered < 3 * each)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(refused == 0);
  std::sort(seqs.begin(), seqs.end());
  CHECK(std::adjacent_find(seqs.begin(), seqs.end()) == seqs.end());  // no seq given twice
  // Every timeline is gap-free: bob's holds 600 messages in and his 300 copies out.
  for (const auto& [user, count] : {std::pair{"bob", 3 * each}, {"alice", 2 * each}}) {
    const auto page = read_now(*node1, user, 0, 10000);
    CHECK(page.head == static_cast<std::uint64_t>(count));
    REQUIRE(page.entries.size() == static_cast<std::size_t>(count));
    for (std::size_t i = 0; i < page.entries.size(); ++i)
      REQUIRE(page.entries[i].seq == i + 1);
  }
}

TEST_CASE_TEMPLATE("any bytes in a text or a clientMsgID come back as sent, also in one batch", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_messages();
  const std::string text("nul \0 byte, quote \" backslash \\ tab \t 名前", 43);
  const std::string id("id \0 \\x00 \"", 11);
  std::vector<std::promise<std::optional<appended_message>>> answers(3);
  for (int i = 0; i < 3; ++i) {  // the same clientMsgID three times, queued together
    append_request request;
    request.message = text_message("alice", "bob", text);
    request.message.client_msg_id = id;
    request.done = [&answers, i](std::optional<appended_message> r) {
      answers[i].set_value(std::move(r));
    };
    store->append(std::move(request));
  }
  std::vector<std::optional<appended_message>> results;
  for (auto& a : answers)
    results.push_back(a.get_future().get());
  REQUIRE(results[0]);
  CHECK_FALSE(results[0]->duplicate);
  for (int i = 1; i < 3; ++i) {
    REQUIRE(results[i]);
    CHECK(results[i]->duplicate);
    CHECK(results[i]->recipient.seq == results[0]->recipient.seq);
  }
  const auto page = read_now(*store, "bob", 0);
  REQUIRE(page.entries.size() == 1);
  CHECK(page.entries[0].message->text == text);
  CHECK(page.entries[0].message->client_msg_id == id);
  CHECK(page.head == 1);
}

TEST_CASE_TEMPLATE("a custom message comes back with its three fields, any bytes, after reopening",
                   B, sqlite_backend, postgres_backend) {
  B backend;
  const custom_element card{std::string("{\"card\":\0 1}", 12), "a card \\ \"", "名前\t"};
  {
    auto store = backend.open_messages();
    auto custom = text_message("alice", "bob", "");
    custom.custom = card;
    REQUIRE(append_now(*store, custom));
    REQUIRE(append_now(*store, text_message("alice", "bob", "then text")));
  }
  auto store = backend.open_messages();
  for (const auto* owner : {"bob", "alice"}) {
    const auto page = read_now(*store, owner, 0);
    REQUIRE(page.entries.size() == 2);
    REQUIRE(page.entries[0].message->custom);
    CHECK(*page.entries[0].message->custom == card);
    CHECK(page.entries[0].message->text.empty());
    CHECK_FALSE(page.entries[1].message->custom);
    CHECK(page.entries[1].message->text == "then text");
  }
  conversation_query q;
  q.sdkappid = 1;
  q.owner = "bob";
  q.peer = "alice";
  const auto history = conversation_now(*store, q);
  REQUIRE(history.size() == 2);
  CHECK(history[1].message->custom == std::optional<custom_element>(card));
}

// A database written by a chatd from before custom messages: its entries
// read as text, and custom messages go into the same table.
std::vector<conversation_summary> conversations_now(message_store& store, const std::string& owner,
                                                    std::size_t max = 100) {
  std::promise<std::vector<conversation_summary>> done;
  auto result = done.get_future();
  store.read_conversations(1, owner, max, [&done](auto c) { done.set_value(std::move(c)); });
  return result.get();
}

std::vector<std::pair<std::string, std::uint64_t>> unread_counts_now(message_store& store,
                                                                    const std::string& owner,
                                                                    std::size_t max = 100) {
  std::promise<std::vector<unread_count>> done;
  auto result = done.get_future();
  store.read_unread_counts(1, owner, max, [&done](auto c) { done.set_value(std::move(c)); });
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const auto& c : result.get())
    out.emplace_back(c.peer, c.unread);
  return out;
}

std::optional<read_mark> mark_read_now(message_store& store, const std::string& owner,
                                       const std::string& peer, std::int64_t up_to_ms) {
  std::promise<std::optional<read_mark>> done;
  auto result = done.get_future();
  store.mark_read(1, owner, peer, up_to_ms, [&done](auto m) { done.set_value(m); });
  return result.get();
}

std::vector<std::int64_t> peer_read_times_now(message_store& store, const std::string& owner,
                                              std::vector<std::string> peers) {
  std::promise<std::vector<std::int64_t>> done;
  auto result = done.get_future();
  store.peer_read_times(1, owner, std::move(peers), [&done](auto t) { done.set_value(t); });
  return result.get();
}

template <class B>
void check_upgrade(B& backend) {
  auto store = backend.open_messages();
  // Its conversations come from its timelines, nothing unread.
  const auto before = conversations_now(*store, "bob");
  REQUIRE(before.size() == 1);
  CHECK(before[0].peer == "alice");
  CHECK(before[0].unread == 0);
  CHECK(before[0].last.message->text == "from before");
  const auto old = read_now(*store, "bob", 0);
  REQUIRE(old.entries.size() == 1);
  CHECK(old.entries[0].message->text == "from before");
  CHECK_FALSE(old.entries[0].message->custom);
  auto custom = text_message("alice", "bob", "");
  custom.custom = custom_element{"d", "", ""};
  const auto appended = append_now(*store, custom);
  REQUIRE(appended);
  CHECK(appended->recipient.seq == 2);
  const auto now = read_now(*store, "bob", 1);
  REQUIRE(now.entries.size() == 1);
  CHECK(now.entries[0].message->custom ==
        std::optional<custom_element>(custom_element{"d", "", ""}));
}

TEST_CASE("SQLite: a timeline table from before custom messages gets their columns") {
  sqlite_backend backend;
  backend.sql(
      "CREATE TABLE timeline (sdkappid INTEGER NOT NULL, owner TEXT NOT NULL, seq INTEGER NOT "
      "NULL, flow INTEGER NOT NULL, peer TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT "
      "NULL, text TEXT NOT NULL, client_msg_id TEXT NOT NULL, message_id TEXT NOT NULL, time_ms "
      "INTEGER NOT NULL, random INTEGER NOT NULL, client_seq INTEGER NOT NULL, client_time "
      "INTEGER NOT NULL, expire_at_ms INTEGER NOT NULL, PRIMARY KEY (sdkappid, owner, seq)) "
      "WITHOUT ROWID;"
      "INSERT INTO timeline VALUES (1, 'bob', 1, 0, 'alice', 'alice', 'bob', 'from before', '', "
      "'1_2_3', 3000, 2, 1, 3, 9000000000000);");
  check_upgrade(backend);
}

TEST_CASE("PostgreSQL: a timeline table from before custom messages gets their columns") {
  postgres_backend backend;
  backend.sql(
      "CREATE TABLE chatd_timeline (sdkappid BIGINT NOT NULL, owner TEXT NOT NULL, seq BIGINT "
      "NOT NULL, flow SMALLINT NOT NULL, peer TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT "
      "NOT NULL, text BYTEA NOT NULL, client_msg_id BYTEA NOT NULL, message_id TEXT NOT NULL, "
      "time_ms BIGINT NOT NULL, random BIGINT NOT NULL, client_seq BIGINT NOT NULL, client_time "
      "BIGINT NOT NULL, expire_at_ms BIGINT NOT NULL, PRIMARY KEY (sdkappid, owner, seq));"
      "CREATE TABLE chatd_timeline_heads (sdkappid BIGINT NOT NULL, user_id TEXT NOT NULL, head "
      "BIGINT NOT NULL, PRIMARY KEY (sdkappid, user_id));"
      "INSERT INTO chatd_timeline_heads VALUES (1, 'bob', 1);"
      "INSERT INTO chatd_timeline VALUES (1, 'bob', 1, 0, 'alice', 'alice', 'bob', 'from "
      "before', '', '1_2_3', 3000, 2, 1, 3, 9000000000000);");
  check_upgrade(backend);
}

TEST_CASE_TEMPLATE("conversations: newest first with their last entry, unread counts, read marks",
                   B, sqlite_backend, postgres_backend) {
  B backend;
  std::int64_t bob_read_ms = 0;
  {
    auto store = backend.open_messages();
    REQUIRE(append_now(*store, text_message("alice", "bob", "a1")));
    REQUIRE(append_now(*store, text_message("alice", "bob", "a2")));
    REQUIRE(append_now(*store, text_message("carol", "bob", "c1")));
    REQUIRE(append_now(*store, text_message("bob", "alice", "b1")));
    REQUIRE(append_now(*store, text_message("bob", "bob", "note")));
    auto bob = conversations_now(*store, "bob");
    REQUIRE(bob.size() == 3);
    CHECK(bob[0].peer == "bob");  // a note to oneself: not unread
    CHECK(bob[0].unread == 0);
    CHECK(bob[1].peer == "alice");
    CHECK(bob[1].last.message->text == "b1");
    CHECK(bob[1].last.flow == message_flow::out);
    CHECK(bob[1].unread == 2);  // a1, a2: bob's own reply does not read them
    CHECK(bob[2].peer == "carol");
    CHECK(bob[2].unread == 1);
    CHECK(conversations_now(*store, "bob", 1).size() == 1);
    using counts = std::vector<std::pair<std::string, std::uint64_t>>;
    CHECK(unread_counts_now(*store, "bob") == counts{{"alice", 2}, {"carol", 1}});
    auto alice = conversations_now(*store, "alice");
    REQUIRE(alice.size() == 1);
    CHECK(alice[0].unread == 1);
    CHECK(alice[0].peer_read_time_ms == 0);

    // bob reads alice's messages up to now: 0 unread, and alice sees the mark.
    const auto mark = mark_read_now(*store, "bob", "alice", INT64_MAX);
    REQUIRE(mark);
    CHECK(mark->unread == 0);
    CHECK(unread_counts_now(*store, "bob") == counts{{"carol", 1}});
    CHECK(mark->read_time_ms >= bob[1].last.message->time_ms);
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    CHECK(mark->read_time_ms <= now_ms);  // capped at now
    bob_read_ms = mark->read_time_ms;
    CHECK(peer_read_times_now(*store, "alice", {"bob", "carol"}) ==
          std::vector<std::int64_t>{bob_read_ms, 0});
    // A mark never moves back; a new message after it is unread.
    CHECK(mark_read_now(*store, "bob", "alice", 1)->read_time_ms == bob_read_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(append_now(*store, text_message("alice", "bob", "a3")));
    CHECK(conversations_now(*store, "bob")[0].unread == 1);
  }
  auto store = backend.open_messages();
  const auto bob = conversations_now(*store, "bob");
  REQUIRE(bob.size() == 3);
  CHECK(bob[0].peer == "alice");
  CHECK(bob[0].unread == 1);
  CHECK(bob[0].read_time_ms == bob_read_ms);
  CHECK(conversations_now(*store, "alice")[0].peer_read_time_ms == bob_read_ms);
  // Reading up to before a3 leaves a3 unread (recounted from the timeline).
  CHECK(mark_read_now(*store, "bob", "alice", bob_read_ms)->unread == 1);
}

TEST_CASE_TEMPLATE("a conversation whose last entry is gone (retention) leaves the list", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_messages();
  REQUIRE(append_now(*store, text_message("alice", "bob", "old"), true, 2));
  REQUIRE(append_now(*store, text_message("carol", "bob", "c1"), true, 2));
  REQUIRE(append_now(*store, text_message("carol", "bob", "c2"), true, 2));  // drops "old"
  const auto bob = conversations_now(*store, "bob");
  REQUIRE(bob.size() == 1);
  CHECK(bob[0].peer == "carol");
}

TEST_CASE_TEMPLATE("a full list skips the newest conversations whose last entry expired", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_messages();
  for (const char* peer : {"carol", "dave"})
    REQUIRE(append_now(*store, text_message(peer, "bob", "kept")));
  // The newest conversation's only message expires at once (an app whose
  // retention was cut after the others were sent).
  REQUIRE(append_expired(*store, text_message("erin", "bob", "short-lived")));
  const auto bob = conversations_now(*store, "bob", 2);
  REQUIRE(bob.size() == 2);
  CHECK(bob[0].peer == "dave");
  CHECK(bob[1].peer == "carol");
  CHECK(conversations_now(*store, "bob", 3).size() == 2);
  using counts = std::vector<std::pair<std::string, std::uint64_t>>;
  CHECK(unread_counts_now(*store, "bob") == counts{{"dave", 1}, {"carol", 1}});
}

// Lists are read beside the batches (SQLite: on the caller's thread, from
// connections of their own): each reader sees every acknowledged send, and
// what it sees never goes back.
TEST_CASE_TEMPLATE("conversation lists read while sends are written see every acknowledged one", B,
                   sqlite_backend, postgres_backend) {
  B backend;
  auto store = backend.open_messages();
  constexpr std::uint64_t sends = 200;
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<bool> sending{true};
  std::atomic<int> violations{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      std::uint64_t seen = 0;
      while (sending.load()) {
        const auto floor = acknowledged.load();
        const auto bob = conversations_now(*store, "bob");
        const auto unread = bob.empty() ? 0 : bob[0].unread;
        if (unread < floor || unread < seen || unread > sends)
          ++violations;
        seen = unread;
      }
    });
  for (std::uint64_t i = 0; i < sends; ++i) {
    REQUIRE(append_now(*store, text_message("alice", "bob", std::to_string(i))));
    acknowledged = i + 1;
  }
  sending = false;
  for (auto& t : readers)
    t.join();
  CHECK(violations.load() == 0);
  const auto bob = conversations_now(*store, "bob");
  REQUIRE(bob.size() == 1);
  CHECK(bob[0].unread == sends);
  CHECK(bob[0].last.message->text == std::to_string(sends - 1));
}
