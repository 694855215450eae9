#include "gateway/address_limits.hpp"

#include <algorithm>

namespace chatd {

namespace {

// Refills a bucket of `per_second` tokens at `per_second` a second.
void refill(double& tokens, std::int64_t& refilled_ms, std::int64_t per_second,
            std::int64_t now_ms) {
  const auto full = static_cast<double>(per_second);
  if (tokens < 0) {
    tokens = full;
  } else if (now_ms > refilled_ms) {
    tokens = std::min(full, tokens + full * static_cast<double>(now_ms - refilled_ms) / 1000.0);
  }
  refilled_ms = std::max(refilled_ms, now_ms);
}

}  // namespace

address_table::slot& address_table::slot::operator=(slot&& other) noexcept {
  if (this != &other) {
    release();
    table_ = std::move(other.table_);
    entry_ = std::exchange(other.entry_, nullptr);
  }
  return *this;
}

void address_table::slot::release() {
  if (table_ == nullptr)
    return;
  {
    std::lock_guard lock(table_->mutex);
    --entry_->connections;  // the sweep forgets the entry once its bucket is full
  }
  table_.reset();
  entry_ = nullptr;
}

bool address_table::slot::admit_login(std::int64_t per_second, std::int64_t now_ms) {
  if (table_ == nullptr)
    return true;  // not counted (a connection made without an address)
  std::lock_guard lock(table_->mutex);
  refill(entry_->login_tokens, entry_->refilled_ms, per_second, now_ms);
  if (entry_->login_tokens < 1.0)
    return false;
  entry_->login_tokens -= 1.0;
  return true;
}

std::optional<address_table::slot> address_table::admit(const boost::asio::ip::address& from,
                                                        std::int64_t max_connections) {
  std::lock_guard lock(state_->mutex);
  auto& e = state_->entries[from];  // node-based: the entry stays put while slots point at it
  if (e.connections >= max_connections)
    return std::nullopt;
  ++e.connections;
  return slot(state_, &e);
}

void address_table::forget_idle(std::int64_t logins_per_second, std::int64_t now_ms) {
  std::lock_guard lock(state_->mutex);
  auto& entries = state_->entries;
  for (auto it = entries.begin(); it != entries.end();) {
    auto& e = it->second;
    if (e.connections == 0) {
      refill(e.login_tokens, e.refilled_ms, logins_per_second, now_ms);
      if (e.login_tokens >= static_cast<double>(logins_per_second)) {
        it = entries.erase(it);
        continue;
      }
    }
    ++it;
  }
}

std::size_t address_table::addresses() const {
  std::lock_guard lock(state_->mutex);
  return state_->entries.size();
}

}  // namespace chatd
