#include "gateway/peer.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/gateway_context.hpp"
#include "metrics/metrics.hpp"
#include "store/message_store.hpp"

namespace chatd {
namespace asio = boost::asio;

// Carries an instance's fate from an actor thread to the link's strand.
class peer::sink final : public instance_sink {
 public:
  sink(std::weak_ptr<peer> self, asio::any_io_executor strand, std::uint64_t attempt)
      : self_(std::move(self)), strand_(std::move(strand)), attempt_(attempt) {}

  void kicked(const kick_notice& notice) override {
    asio::post(strand_, [self = self_, attempt = attempt_, notice] {
      if (auto c = self.lock())
        c->on_kicked(attempt, notice);
    });
  }

  void lost() override {
    asio::post(strand_, [self = self_, attempt = attempt_] {
      if (auto c = self.lock())
        c->on_lost(attempt);
    });
  }

  void notice(const user_notice& notice) override {
    asio::post(strand_, [self = self_, attempt = attempt_, notice] {
      if (auto c = self.lock())
        c->on_notice(attempt, notice);
    });
  }

  void message(const timeline_entry& entry) override {
    asio::post(strand_, [self = self_, attempt = attempt_, entry] {
      if (auto c = self.lock())
        c->on_entry(attempt, entry);
    });
  }

 private:
  std::weak_ptr<peer> self_;
  asio::any_io_executor strand_;
  std::uint64_t attempt_;
};

// Its place among the connections not logged in was reserved at the
// upgrade (http_session.cpp, max_unauthenticated).
peer::peer(connection& link, std::shared_ptr<gateway_context> context,
           std::unique_ptr<wire_codec> codec)
    : link_(link), context_(std::move(context)), codec_(std::move(codec)), unauthenticated_(true) {}

peer::~peer() {
  count_as_unauthenticated(false);
  context_->peers.remove(this);
}

std::shared_ptr<peer> peer::shared() const {
  return {link_.shared_from_this(), const_cast<peer*>(this)};
}

void peer::count_as_unauthenticated(bool yes) {
  if (std::exchange(unauthenticated_, yes) != yes)
    context_->unauthenticated += yes ? 1 : -1;
}

// --- the link's events -------------------------------------------------------

void peer::on_start() {
  context_->peers.add(shared());
  // A drain that began while this upgrade was being answered took its
  // snapshot of the clients without this one: drain it now. (Added to the
  // set first, then checked: a drain clears `accepting` before its
  // snapshot, so every client is drained by one or the other.)
  if (!context_->accepting)
    link_.shut_down();
}

void peer::on_message(std::string payload, bool binary) {
  codec_->dispatch(shared(), std::move(payload), binary);
}

void peer::on_end() {
  take_offline(false);
  if (drain_signal_)
    drain_signal_->cancel();
}

void peer::on_shutdown() {
  if (!login())
    return;
  codec_->shutting_down(*this);
  take_offline(true);
}

// The instance (if any) goes offline: counted only if it was still online,
// as a kick may have won the race.
void peer::take_offline(bool shutdown) {
  const auto& login = instance_.login();
  if (!login)
    return;
  const auto reason =
      shutdown ? metrics::logout_reason::shutdown : metrics::logout_reason::disconnect;
  spdlog::debug("logout app={} user={} platform={} instance={} ({})", login->sdkappid,
                login->user_id, platform_name(login->platform), login->instance_id,
                shutdown ? "server shutdown" : "connection closed");
  context_->sessions.logout(login->session,
                            reply<errc>::to([app = login->sdkappid, reason](outcome<errc> answer) {
                              if (answer.ok() && answer.value == errc::ok)
                                metrics::logged_out(app, reason);
                            }));
  go_offline();
}

// --- the login ---------------------------------------------------------------

std::shared_ptr<instance_sink> peer::begin_login() {
  const auto attempt = instance_.begin();
  return std::make_shared<sink>(shared(), link_.strand(), attempt);
}

void peer::fail_login() {
  instance_.fail();
}

void peer::finish_login(active_login login) {
  auto raced = instance_.grant(std::move(login));
  count_as_unauthenticated(false);
  end_instance(raced);
}

void peer::go_offline() {
  instance_.go_offline();
  if (!link_.closing())
    count_as_unauthenticated(true);
}

void peer::on_kicked(std::uint64_t attempt, const kick_notice& notice) {
  if (instance_.ends_now(attempt, notice))
    end_instance(notice);
}

void peer::on_lost(std::uint64_t attempt) {
  if (instance_.ends_now(attempt, session_lost{}))
    end_instance(session_lost{});
}

// Offline first, then the codec says so: a kick or a loss.
void peer::end_instance(const early_end& end) {
  if (std::holds_alternative<std::monostate>(end))
    return;
  go_offline();
  if (const auto* notice = std::get_if<kick_notice>(&end))
    codec_->kicked(*this, *notice);
  else
    codec_->lost(*this);
}

// --- the timeline --------------------------------------------------------------

void peer::on_entry(std::uint64_t attempt, const timeline_entry& entry) {
  if (entry.message->online_only) {
    // In no timeline: out now if ready, never synced, never marked delivered.
    if (instance_.ready_for(attempt))
      codec_->entries(*this, {&entry, 1});
    return;
  }
  if (instance_.admits_live(attempt, entry.seq))
    deliver_entries({&entry, 1});
}

void peer::on_notice(std::uint64_t attempt, const user_notice& notice) {
  if (instance_.ready_for(attempt))
    codec_->notice(*this, notice);
}

void peer::deliver_entries(std::span<const timeline_entry> entries) {
  if (entries.empty())
    return;
  codec_->entries(*this, entries);
  for (const auto& entry : entries)
    record_delivered(entry);
}

void peer::record_delivered(const timeline_entry& entry) {
  instance_.timeline().delivered(entry.seq);
  const auto& m = *entry.message;
  context_->messages.note_delivered(m.sdkappid, entry.owner(), entry.seq);
  std::optional<std::chrono::steady_clock::duration> latency;
  if (m.received_steady_ns != 0)  // a live entry; synced ones were read back from the store
    latency = std::chrono::steady_clock::now() -
              std::chrono::steady_clock::time_point(std::chrono::nanoseconds(m.received_steady_ns));
  metrics::message_delivered(m.sdkappid, latency);
}

bool peer::crowded() const {
  return !link_.closing() && link_.outbox_load() * 2 > link_.capacity();
}

asio::awaitable<void> peer::drained() {
  while (crowded()) {
    if (!drain_signal_)
      drain_signal_ = std::make_unique<asio::steady_timer>(link_.strand(),
                                                           asio::steady_timer::time_point::max());
    co_await drain_signal_->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void peer::on_drained() {
  if (drain_signal_ && !crowded())
    drain_signal_->cancel();
}

}  // namespace chatd
