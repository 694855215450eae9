// Per source address: how many TCP connections it holds, and a budget of
// login attempts per second (a token bucket). One table per gateway; the
// caps come from gateway_settings at each call, so a test or an operator
// sets them in one place.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace chatd {

class address_table {
  struct entry {
    std::int64_t connections = 0;
    double login_tokens = -1;  // < 0: no login yet, the bucket is full
    std::int64_t refilled_ms = 0;
  };
  struct shared_state {
    std::mutex mutex;
    std::unordered_map<boost::asio::ip::address, entry> entries;
  };

 public:
  // One accepted connection's claim on its address, released when the
  // connection ends (moved from the HTTP session into the upgraded
  // connection). It keeps the table alive: a coroutine frame destroyed at
  // shutdown may release its slot after the gateway is gone. Move-only.
  class slot {
   public:
    slot() = default;
    slot(slot&& other) noexcept = default;
    slot& operator=(slot&& other) noexcept;
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    ~slot() { release(); }

    // One login attempt: false when the address has spent its budget of
    // `per_second` attempts (a burst of as many, refilled continuously).
    bool admit_login(std::int64_t per_second, std::int64_t now_ms);

   private:
    friend class address_table;
    slot(std::shared_ptr<shared_state> table, entry* e) : table_(std::move(table)), entry_(e) {}
    void release();
    std::shared_ptr<shared_state> table_;
    entry* entry_ = nullptr;
  };

  // A new connection from `from`; nullopt when it already holds
  // `max_connections`.
  std::optional<slot> admit(const boost::asio::ip::address& from, std::int64_t max_connections);
  // Forgets addresses without connections whose login budget has refilled
  // (an address that reconnects for every attempt keeps its empty bucket).
  void forget_idle(std::int64_t logins_per_second, std::int64_t now_ms);
  std::size_t addresses() const;

 private:
  std::shared_ptr<shared_state> state_ = std::make_shared<shared_state>();
};

}  // namespace chatd
