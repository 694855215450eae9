// The message_store both databases share: one thread owns the tables. Sends
// waiting when the thread comes round are committed in one transaction
// (group commit): durability costs per batch, not per message. Seqs are
// handed out in that thread, in commit order.
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "store/timeline_tables.hpp"

namespace chatd {
namespace {

// (owner, peer) in one order on every node: a batch touches conversation
// rows in that order, so two writers never wait on each other in a cycle.
struct user_peer_less {
  bool operator()(const std::pair<user_ref, std::string>& a,
                  const std::pair<user_ref, std::string>& b) const {
    return std::tie(a.first.sdkappid, a.first.user_id, a.second) <
           std::tie(b.first.sdkappid, b.first.user_id, b.second);
  }
};

std::int64_t wall_clock_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

constexpr std::size_t max_batch = 4096;
constexpr auto sweep_interval = std::chrono::seconds(60);

class batched_message_store final : public message_store {
 public:
  explicit batched_message_store(std::unique_ptr<timeline_tables> tables)
      : tables_(std::move(tables)) {
    entries_ = tables_->count_entries();
    native_seq_ = static_cast<std::uint64_t>(wall_clock_now_ms() / 1000) * 1000;
    thread_ = std::thread([this] { run(); });
  }

  ~batched_message_store() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  void append(append_request request) override {
    enqueue([&] { appends_.push_back(std::move(request)); });
  }

  void read_timeline(std::uint32_t sdkappid, std::string user_id,
                     std::optional<std::uint64_t> after_seq, std::uint64_t after_at_most,
                     std::size_t max_count, std::function<void(timeline_page)> done) override {
    enqueue([&] {
      reads_.push_back([this, sdkappid, user = std::move(user_id), after_seq, after_at_most,
                        max_count, done = std::move(done)] {
        done(timeline_after(user_ref{sdkappid, user}, after_seq, after_at_most, max_count));
      });
    });
  }

  void read_conversation(conversation_query query,
                         std::function<void(std::vector<timeline_entry>)> done) override {
    enqueue([&] {
      reads_.push_back([this, query = std::move(query), done = std::move(done)] {
        done(tables_->conversation(query, wall_clock_now_ms()));
      });
    });
  }

  void read_conversations(std::uint32_t sdkappid, std::string owner, std::size_t max_count,
                          std::function<void(std::vector<conversation_summary>)> done) override {
    read_conversation_rows(
        [this, user = user_ref{sdkappid, std::move(owner)}, max_count, done = std::move(done)] {
          done(tables_->conversations(user, max_count, wall_clock_now_ms()));
        });
  }

  void read_unread_counts(std::uint32_t sdkappid, std::string owner, std::size_t max_count,
                          std::function<void(std::vector<unread_count>)> done) override {
    read_conversation_rows(
        [this, user = user_ref{sdkappid, std::move(owner)}, max_count, done = std::move(done)] {
          done(tables_->unread_counts(user, max_count, wall_clock_now_ms()));
        });
  }

  void mark_read(std::uint32_t sdkappid, std::string owner, std::string peer, std::int64_t up_to_ms,
                 std::function<void(std::optional<read_mark>)> done) override {
    enqueue([&] {
      reads_.push_back([this, user = user_ref{sdkappid, std::move(owner)}, peer = std::move(peer),
                        up_to_ms, done = std::move(done)] {
        std::optional<read_mark> mark;
        try {
          const auto now = wall_clock_now_ms();
          mark = tables_->write_read_mark(user, peer, std::min(up_to_ms, now), now);
        } catch (const std::exception& e) {
          ++write_failures_;
          spdlog::error("store: a read mark was not written: {}", e.what());
        }
        done(mark);
      });
    });
  }

  void revoke(std::uint32_t sdkappid, std::string sender, std::string recipient,
              std::string message_id, std::int64_t sent_after_ms,
              std::function<void(std::optional<revoke_result>)> done) override {
    enqueue([&] {
      reads_.push_back([this, sdkappid, sender = std::move(sender),
                        recipient = std::move(recipient), message_id = std::move(message_id),
                        sent_after_ms, done = std::move(done)] {
        done(revoke_now(sdkappid, sender, recipient, message_id, sent_after_ms));
      });
    });
  }

  void peer_read_times(std::uint32_t sdkappid, std::string owner, std::vector<std::string> peers,
                       std::function<void(std::vector<std::int64_t>)> done) override {
    enqueue([&] {
      reads_.push_back([this, user = user_ref{sdkappid, std::move(owner)}, peers = std::move(peers),
                        done = std::move(done)] { done(tables_->read_times(user, peers)); });
    });
  }

  void note_delivered(std::uint32_t sdkappid, const std::string& user_id,
                      std::uint64_t seq) override {
    std::lock_guard lock(mutex_);
    auto& known = delivered_[user_ref{sdkappid, user_id}];
    if (seq > known) {
      known = seq;
      delivered_dirty_.insert(user_ref{sdkappid, user_id});
    }
  }

  std::uint64_t stored_entries() const override { return entries_.load(); }
  std::uint64_t write_failures() const override { return write_failures_.load(); }

 private:
  template <class F>
  void enqueue(F&& add) {
    {
      std::lock_guard lock(mutex_);
      add();
    }
    wake_.notify_one();
  }

  // The store's thread: batches of appends, then the reads that waited
  // (which therefore see every commit before them), the delivered marks,
  // and a retention sweep now and then.
  void run() {
    auto next_sweep = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait_until(lock, next_sweep,
                       [this] { return stopping_ || !appends_.empty() || !reads_.empty(); });
      const bool stop = stopping_ && appends_.empty() && reads_.empty();
      std::vector<append_request> batch;
      while (!appends_.empty() && batch.size() < max_batch) {
        batch.push_back(std::move(appends_.front()));
        appends_.pop_front();
      }
      auto reads = std::move(reads_);
      reads_.clear();
      auto delivered = take_delivered();
      lock.unlock();
      if (!batch.empty())
        write_batch(batch);
      for (auto& read : reads)
        run_read(read);
      if (!delivered.empty())
        write_delivered(delivered);
      if (std::chrono::steady_clock::now() >= next_sweep) {
        sweep_expired();
        next_sweep = std::chrono::steady_clock::now() + sweep_interval;
      }
      lock.lock();
      if (stop)
        return;
    }
  }

  // A read of the conversation rows: at once on this thread if the tables
  // read them beside the batches, else on the store's thread.
  void read_conversation_rows(std::function<void()> read) {
    if (tables_->reads_conversations_on_any_thread()) {
      run_read(read);
      return;
    }
    enqueue([&] { reads_.push_back(std::move(read)); });
  }

  void run_read(const std::function<void()>& read) {
    try {
      read();
    } catch (const std::exception& e) {
      // The callback was not called: dropped with the read, it answers its
      // caller `unavailable` at once (70500).
      spdlog::error("timeline read failed: {}", e.what());
    }
  }

  std::vector<std::pair<user_ref, std::uint64_t>> take_delivered() {
    std::vector<std::pair<user_ref, std::uint64_t>> out;
    for (const auto& user : delivered_dirty_)
      out.emplace_back(user, delivered_[user]);
    delivered_dirty_.clear();
    return out;
  }

  // The cap of each timeline a batch appended to, and its last seq.
  struct touched_timeline {
    std::uint32_t max_entries = 0;
    std::uint64_t head = 0;
  };
  using touched_map = std::unordered_map<user_ref, touched_timeline, user_ref_hash>;

  std::uint64_t next_seq(const user_ref& user, std::uint32_t max_entries, touched_map& touched) {
    const auto seq = tables_->next_seq(user);
    touched[user] = touched_timeline{max_entries, seq};
    return seq;
  }

  // The entries of an earlier send with the same sender and clientMsgID,
  // if it is still retained.
  std::optional<appended_message> earlier_send(const chat_message& m) {
    if (m.client_msg_id.empty())
      return std::nullopt;
    const auto sent = tables_->find_sent(m.sdkappid, m.from, m.client_msg_id);
    if (!sent)
      return std::nullopt;
    auto first = tables_->entry_at(m.sdkappid, sent->recipient, sent->recipient_seq);
    if (!first)
      return std::nullopt;  // dropped by retention: a new message
    appended_message out{*first, std::nullopt, true};
    if (sent->sender_seq != 0)
      out.sender = timeline_entry{sent->sender_seq, message_flow::out, first->message};
    return out;
  }

  // On the store's thread, between batches: an append of the same message
  // is either committed before or not at all.
  std::optional<revoke_result> revoke_now(std::uint32_t sdkappid, const std::string& sender,
                                          const std::string& recipient,
                                          const std::string& message_id,
                                          std::int64_t sent_after_ms) {
    try {
      const auto now = wall_clock_now_ms();
      auto entries = tables_->entries_of_message(sdkappid, sender, recipient, message_id, now);
      if (entries.empty())
        return revoke_result{errc::invalid_parameter, {}};
      if (entries.front().message->time_ms < sent_after_ms)
        return revoke_result{errc::revoke_window_passed, {}};
      tables_->write_revoke(entries, now);
      auto revoked = std::make_shared<chat_message>(*entries.front().message);
      revoked->text.clear();
      revoked->custom.reset();
      revoked->revoked = true;
      revoke_result out;
      for (const auto& entry : entries) {
        const timeline_entry now_revoked{entry.seq, entry.flow, revoked};
        if (entry.flow == message_flow::in)
          out.entries.recipient = now_revoked;
        else
          out.entries.sender = now_revoked;
      }
      if (!out.entries.recipient.message)  // only the sender's copy is retained
        out.entries.recipient = {0, message_flow::in, revoked};
      return out;
    } catch (const std::exception& e) {
      ++write_failures_;
      spdlog::error("store: a revoke was not written: {}", e.what());
      return std::nullopt;
    }
  }

  // The conversations a batch touched, by (owner, peer).
  using conversation_map =
      std::map<std::pair<user_ref, std::string>, conversation_touch, user_peer_less>;

  static void touch(conversation_map& conversations, const timeline_entry& entry) {
    const auto& m = *entry.message;
    const user_ref owner{m.sdkappid, entry.owner()};
    auto& t = conversations[{owner, entry.peer()}];
    t.owner = owner;
    t.peer = entry.peer();
    t.last_seq = std::max(t.last_seq, entry.seq);
    t.last_time_ms = std::max(t.last_time_ms, m.time_ms);
    if (entry.flow == message_flow::in && m.from != m.to)
      ++t.added_unread;
  }

  // Stamps the message (time, ids) and appends it to its timelines, unless
  // the sender sent its clientMsgID before.
  appended_message write_one(append_request& request, std::int64_t& last_time_ms,
                             touched_map& touched, conversation_map& conversations) {
    if (auto earlier = earlier_send(request.message))
      return std::move(*earlier);
    auto message = std::make_shared<chat_message>(std::move(request.message));
    last_time_ms = std::max(last_time_ms, wall_clock_now_ms());
    message->time_ms = last_time_ms;
    if (message->client_seq == 0)
      message->client_seq = ++native_seq_;
    if (message->client_time_s == 0)
      message->client_time_s = message->time_ms / 1000;
    message->message_id =
        message_key(message->client_seq, message->random, message->time_ms / 1000);
    const auto expire_at = message->time_ms + request.retention_ms;

    const user_ref recipient{message->sdkappid, message->to};
    const auto cap = request.max_timeline_messages;
    appended_message out{{next_seq(recipient, cap, touched), message_flow::in, message},
                         std::nullopt};
    tables_->insert_entry(*message, out.recipient, expire_at);
    if (request.copy_to_sender && message->from != message->to) {
      const user_ref sender{message->sdkappid, message->from};
      out.sender = timeline_entry{next_seq(sender, cap, touched), message_flow::out, message};
      tables_->insert_entry(*message, *out.sender, expire_at);
    }
    if (!message->client_msg_id.empty())
      tables_->insert_sent(
          *message, {message->to, out.recipient.seq, out.sender ? out.sender->seq : 0}, expire_at);
    touch(conversations, out.recipient);
    if (out.sender)
      touch(conversations, *out.sender);
    return out;
  }

  static std::vector<user_ref> timelines_of(const std::vector<append_request>& batch) {
    std::unordered_set<user_ref, user_ref_hash> users;
    for (const auto& request : batch) {
      users.insert(user_ref{request.message.sdkappid, request.message.to});
      if (request.copy_to_sender)
        users.insert(user_ref{request.message.sdkappid, request.message.from});
    }
    return {users.begin(), users.end()};
  }

  void write_batch(std::vector<append_request>& batch) {
    touched_map touched;
    conversation_map conversations;
    std::vector<appended_message> results;
    results.reserve(batch.size());
    std::uint64_t dropped = 0;
    try {
      tables_->begin();
      tables_->lock_timelines(timelines_of(batch));
      std::int64_t last_time_ms = last_time_ms_;
      for (auto& request : batch)
        results.push_back(write_one(request, last_time_ms, touched, conversations));
      std::vector<conversation_touch> touches;
      touches.reserve(conversations.size());
      for (auto& [key, t] : conversations)
        touches.push_back(std::move(t));
      tables_->touch_conversations(touches);
      for (const auto& [user, timeline] : touched)
        if (timeline.head > timeline.max_entries)
          dropped += tables_->drop_through(user, timeline.head - timeline.max_entries);
      tables_->commit();
      last_time_ms_ = last_time_ms;
    } catch (const std::exception& e) {
      tables_->rollback();
      ++write_failures_;
      spdlog::error("store: {} message(s) not written: {}", batch.size(), e.what());
      for (auto& request : batch)
        request.done(std::nullopt);
      return;
    }
    std::uint64_t inserted = 0;
    for (const auto& r : results)
      if (!r.duplicate)
        inserted += r.sender ? 2 : 1;
    entries_ += inserted;
    entries_ -= std::min<std::uint64_t>(entries_, dropped);
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i].done(std::move(results[i]));
  }

  std::uint64_t delivered_seq(const user_ref& user) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = delivered_.find(user); it != delivered_.end())
        return it->second;
    }
    const auto stored = tables_->delivered(user);
    std::lock_guard lock(mutex_);
    auto& known = delivered_[user];
    known = std::max(known, stored);
    return known;
  }

  timeline_page timeline_after(const user_ref& user, std::optional<std::uint64_t> after_seq,
                               std::uint64_t after_at_most, std::size_t max_count) {
    const auto after = after_seq ? *after_seq : std::min(delivered_seq(user), after_at_most);
    timeline_page page;
    page.head = tables_->head(user);
    page.entries = tables_->entries_after(user, std::min<std::uint64_t>(after, INT64_MAX),
                                          wall_clock_now_ms(), max_count);
    return page;
  }

  void write_delivered(const std::vector<std::pair<user_ref, std::uint64_t>>& marks) {
    try {
      tables_->write_delivered(marks);
    } catch (const std::exception& e) {
      // Only a hint for the next SDK login's offline sync: not retried.
      ++write_failures_;
      spdlog::warn("store: delivered marks not written: {}", e.what());
    }
  }

  void sweep_expired() {
    try {
      const auto dropped = tables_->sweep(wall_clock_now_ms());
      entries_ -= std::min<std::uint64_t>(entries_, dropped);
    } catch (const std::exception& e) {
      ++write_failures_;
      spdlog::warn("store: retention sweep failed: {}", e.what());
    }
  }

  std::unique_ptr<timeline_tables> tables_;
  std::thread thread_;

  // Shared with the callers, under mutex_.
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<append_request> appends_;
  std::vector<std::function<void()>> reads_;
  std::unordered_map<user_ref, std::uint64_t, user_ref_hash> delivered_;
  std::unordered_set<user_ref, user_ref_hash> delivered_dirty_;

  // The store thread's own.
  std::int64_t last_time_ms_ = 0;
  std::uint64_t native_seq_ = 0;

  std::atomic<std::uint64_t> entries_{0};
  std::atomic<std::uint64_t> write_failures_{0};
};

}  // namespace

std::unique_ptr<message_store> make_batched_message_store(std::unique_ptr<timeline_tables> tables) {
  return std::make_unique<batched_message_store>(std::move(tables));
}

}  // namespace chatd
