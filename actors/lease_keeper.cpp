#include "actors/lease_keeper.hpp"

#include <spdlog/spdlog.h>

namespace chatd {
namespace {

using clock = std::chrono::steady_clock;

std::int64_t ticks(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

lease_keeper::lease_keeper(std::string self, std::shared_ptr<lease_store> store,
                           std::shared_ptr<lease_gate> gate, lease_timing timing,
                           std::function<void(std::shared_ptr<const lease_view>)> on_round)
    : self_(std::move(self)),
      store_(std::move(store)),
      gate_(std::move(gate)),
      timing_(timing),
      on_round_(std::move(on_round)),
      synced_(shard_count, 0),
      thread_([this] { run(); }) {}

lease_keeper::~lease_keeper() {
  stopping_ = true;
  thread_.join();
}

void lease_keeper::set_synced(std::vector<std::uint64_t> synced) {
  std::lock_guard lock(synced_mutex_);
  synced_ = std::move(synced);
}

clock::time_point lease_keeper::alive_until() const {
  return clock::time_point(clock::duration(alive_until_.load()));
}

void lease_keeper::run() {
  while (!stopping_) {
    one_round();
    if (stopping_)
      break;
    try {
      store_->wait_for_change(timing_.renew_interval);
    } catch (const std::exception&) {
      std::this_thread::sleep_for(timing_.renew_interval);
    }
  }
}

void lease_keeper::one_round() {
  std::vector<std::uint64_t> synced;
  {
    std::lock_guard lock(synced_mutex_);
    synced = synced_;
  }
  // Taken before the transaction begins: the store's clock read inside it
  // is later, so a lease it grants lasts at least until read_at + remaining.
  const auto read_at = clock::now();
  std::shared_ptr<lease_view> view;
  try {
    view = std::make_shared<lease_view>(store_->round(
        self_, leaving_ ? std::chrono::milliseconds(0) : timing_.lease, synced,
        [](void* gate, std::uint32_t shard) { static_cast<lease_gate*>(gate)->close(shard); },
        gate_.get()));
  } catch (const std::exception& e) {
    if (failures_++ % 10 == 0)
      spdlog::warn("cluster: lease round failed ({} in a row): {}", failures_, e.what());
    on_round_(nullptr);
    return;
  }
  if (failures_ > 0)
    spdlog::info("cluster: lease rounds succeed again after {} failures", failures_);
  failures_ = 0;
  view->read_at = read_at;
  alive_until_ = ticks(read_at + timing_.lease - timing_.margin);
  for (std::uint32_t shard = 0; shard < view->shards.size(); ++shard) {
    const auto& lease = view->shards[shard];
    if (lease.owner == self_ && lease.remaining > timing_.margin)
      gate_->hold(shard, lease.epoch, read_at + lease.remaining - timing_.margin);
    else
      gate_->close(shard);
  }
  on_round_(std::move(view));
}

}  // namespace chatd
