// Internal to actors/: the plain types that cross nodes, serialized by
// CAF's middleman. Every type here has an inspect() and is registered on
// every node (add_cluster_message_types, node_protocol.hpp).
#pragma once

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/session_service.hpp"

namespace chatd {

using online_list = std::vector<online_instance>;

struct user_key {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  bool operator==(const user_key&) const = default;
};

struct user_key_hash {
  std::size_t operator()(const user_key& k) const noexcept {
    return std::hash<std::string>{}(k.user_id) * 31 + k.sdkappid;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_key& x) {
  return f(caf::meta::type_name("user_key"), x.sdkappid, x.user_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, login_limits& x) {
  return f(caf::meta::type_name("login_limits"), x.policy, x.max_web_instances,
           x.max_devices_per_platform);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, online_instance& x) {
  return f(caf::meta::type_name("online_instance"), x.instance_id, x.platform, x.ready_order);
}

// The custom element crosses as a flag and its three fields (CAF 0.17
// inspects no std::optional); the loaded message gets it back at the end.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_message& x) {
  bool is_custom = x.custom.has_value();
  custom_element custom = is_custom ? *x.custom : custom_element{};
  auto restore = [&]() -> caf::error {
    x.custom = is_custom ? std::optional<custom_element>(std::move(custom)) : std::nullopt;
    return caf::none;
  };
  return f(caf::meta::type_name("chat_message"), x.sdkappid, x.from, x.to, x.text, is_custom,
           custom.data, custom.description, custom.extension, x.online_only, x.revoked,
           x.client_msg_id, x.message_id, x.time_ms, x.random, x.client_seq, x.client_time_s,
           x.received_steady_ns, caf::meta::load_callback(restore));
}

// A timeline entry by value (a timeline_entry shares its message by pointer).
struct wire_entry {
  std::uint64_t seq = 0;
  message_flow flow = message_flow::in;
  chat_message message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wire_entry& x) {
  return f(caf::meta::type_name("wire_entry"), x.seq, x.flow, x.message);
}

inline wire_entry to_wire(const timeline_entry& entry) {
  return {entry.seq, entry.flow, *entry.message};
}

inline timeline_entry from_wire(wire_entry entry) {
  return {entry.seq, entry.flow, std::make_shared<const chat_message>(std::move(entry.message))};
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_notice& x) {
  return f(caf::meta::type_name("user_notice"), x.kind, x.peer, x.time_ms, x.outgoing, x.seq,
           x.message_id, x.client_seq, x.random);
}

// A shard and the epoch of its lease: what a claim names.
struct shard_epoch {
  std::uint32_t shard = 0;
  std::uint64_t epoch = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_epoch& x) {
  return f(caf::meta::type_name("shard_epoch"), x.shard, x.epoch);
}

using shard_epochs = std::vector<shard_epoch>;

// What an owner answers a peer's request about a user: it decided
// (`served`, with the decision's values), or it does not serve the user's
// shard now (`moved`: ask again).
enum class owner_status : std::uint8_t { served, moved };

}  // namespace chatd
