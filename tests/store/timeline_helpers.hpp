// Helpers for message_store tests: a text message, and the store's
// asynchronous calls made synchronous.
#pragma once

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/message_store.hpp"

namespace chatd::test {

inline chat_message text_message(std::string from, std::string to, std::string text) {
  chat_message m;
  m.sdkappid = 1;
  m.from = std::move(from);
  m.to = std::move(to);
  m.text = std::move(text);
  m.random = new_message_random();
  return m;
}

inline std::optional<appended_message> append_now(message_store& store, chat_message m,
                                                  bool copy = true, std::uint32_t cap = 10000) {
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

// Appends `m` with a retention of 1 ms and waits until it has expired.
inline std::optional<appended_message> append_expired(message_store& store, chat_message m) {
  std::promise<std::optional<appended_message>> done;
  auto result = done.get_future();
  append_request request;
  request.message = std::move(m);
  request.retention_ms = 1;
  request.done = [&done](std::optional<appended_message> r) { done.set_value(std::move(r)); };
  store.append(std::move(request));
  auto appended = result.get();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return appended;
}

inline timeline_page read_now(message_store& store, const std::string& user,
                              std::optional<std::uint64_t> after, std::size_t max = 1000) {
  std::promise<timeline_page> done;
  auto result = done.get_future();
  store.read_timeline(1, user, after, UINT64_MAX, max,
                      [&done](timeline_page p) { done.set_value(std::move(p)); });
  return result.get();
}

inline std::vector<timeline_entry> conversation_now(message_store& store, conversation_query q) {
  std::promise<std::vector<timeline_entry>> done;
  auto result = done.get_future();
  store.read_conversation(std::move(q),
                          [&done](std::vector<timeline_entry> e) { done.set_value(std::move(e)); });
  return result.get();
}

}  // namespace chatd::test
