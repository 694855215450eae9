// The message flows shared by the native protocol, the Tencent SDK's and
// REST (CONTRACT §2c): sending (checks, durable append, hand-over of the
// entries to the actors that deliver them) and syncing a login's timeline.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "actors/reply.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/message.hpp"
#include "store/message_store.hpp"

namespace chatd {

class peer;
struct gateway_context;

struct outgoing_message {
  chat_message message;          // sdkappid, from, to, content and the client's ids
  bool copy_to_sender = true;    // REST SyncOtherMachine 2: false
  std::string sending_instance;  // gets no copy of its own message; "" for REST
};

struct sent_message {
  errc code = errc::ok;
  appended_message entries;  // when code is ok
};

// 20003 for a recipient that is not a valid known account, 80002 for a bad
// body; else appends durably (group commit), hands the entries to the
// recipient's and sender's instances in commit order, and answers. 70500
// if the store failed or did not answer. An online-only message is handed
// to the recipient's online instances at once and never stored.
boost::asio::awaitable<sent_message> send_message(gateway_context& context, outgoing_message out);

// The send of a peer's instance, read by its protocol (or the code
// that refused it: the reader's own codes).
boost::asio::awaitable<sent_message> send_message(gateway_context& context,
                                                  std::variant<outgoing_message, errc> request);

// Shows one page of a sync: the first page of an SDK sync goes into the
// getmsg reply, every other page out as the protocol's pushes.
using sync_page_handler = std::function<void(std::span<const timeline_entry> page, bool first)>;

// Delivers the login's timeline after `after` (nullopt: after what was last
// delivered to any instance of the user), page by page, paced by the
// outbox, until it has caught up with the live entries that raced it; then
// live entries flow. Stops if the login ends. The client's cursor must be
// syncing (timeline_cursor::begin_sync).
boost::asio::awaitable<void> sync_timeline(std::shared_ptr<peer> self,
                                           std::optional<std::uint64_t> after,
                                           sync_page_handler show);

// A page of one user's timeline (message_store::read_timeline).
boost::asio::awaitable<outcome<timeline_page>> read_page(message_store& store,
                                                         std::uint32_t sdkappid,
                                                         std::string user_id,
                                                         std::optional<std::uint64_t> after,
                                                         std::size_t max_entries,
                                                         std::uint64_t after_at_most = UINT64_MAX);

// One conversation (message_store::read_conversation), on the store's thread.
boost::asio::awaitable<outcome<std::vector<timeline_entry>>> read_conversation(
    message_store& store, conversation_query query);

// Pages of at most this many entries (and a quarter of the client's outbox).
inline constexpr std::size_t sync_page_entries = 200;

}  // namespace chatd
