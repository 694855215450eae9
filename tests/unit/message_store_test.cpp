// The embedded timelines on a full disk (SQLite only; everything else is
// tests/store/message_store_suite.cpp, run on both backends).
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "full_disk.hpp"
#include "store/message_store.hpp"

using namespace chatd;
using chatd::test::full_disk;

namespace {

std::filesystem::path fresh_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("chatd-timeline-test-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(dir);
  return dir;
}

chat_message text_message(std::string from, std::string to, std::string text) {
  chat_message m;
  m.sdkappid = 1;
  m.from = std::move(from);
  m.to = std::move(to);
  m.text = std::move(text);
  m.random = new_message_random();
  return m;
}

std::optional<appended_message> append_now(message_store& store, chat_message m, bool copy = true,
                                           std::uint32_t cap = 10000) {
  std::promise<std::optional<appended_message>> done;
  auto result = done.get_future();
  append_request request;
  request.message = std::move(m);
  request.copy_to_sender = copy;
  request.max_timeline_messages = cap;
  request.done = [&done](std::optional<appended_message> r) { done.set_value(std::move(r)); };
  store.append(std::move(request));
  return result.get();
}

timeline_page read_now(message_store& store, const std::string& user,
                       std::optional<std::uint64_t> after, std::size_t max = 1000) {
  std::promise<timeline_page> done;
  auto result = done.get_future();
  store.read_timeline(1, user, after, max,
                      [&done](timeline_page p) { done.set_value(std::move(p)); });
  return result.get();
}

}  // namespace

TEST_CASE("a full disk: a send is refused, never acknowledged, and no seq is lost or reused") {
  const auto dir = fresh_dir();
  auto store = open_sqlite_message_store(dir);
  REQUIRE(append_now(*store, text_message("alice", "bob", "before"))->recipient.seq == 1);
  {
    full_disk full(dir);
    int refused = 0;
    for (int i = 0; i < 50; ++i)
      if (!append_now(*store, text_message("alice", "bob", std::string(4000, 'x'))))
        ++refused;
    CHECK(refused > 0);
    CHECK(store->write_failures() > 0);
  }
  const auto after = append_now(*store, text_message("alice", "bob", "after"));
  REQUIRE(after);
  const auto page = read_now(*store, "bob", 0, 1000);
  REQUIRE(page.entries.back().seq == after->recipient.seq);
  for (std::size_t i = 0; i < page.entries.size(); ++i)
    CHECK(page.entries[i].seq == i + 1);  // gap-free: refused sends took no seq
}
