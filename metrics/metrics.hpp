// chatd's metrics (CONTRACT §5), recorded from every layer. No prometheus
// header here: callers pass domain values; handles are cached so that the
// hot paths cost an atomic add, with no lock and no label lookup.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/error_codes.hpp"
#include "protocol/kick.hpp"
#include "protocol/platform.hpp"

namespace prometheus {
class Registry;
}

namespace chatd::metrics {

enum class logout_reason : std::uint8_t { logout, destroy, disconnect, shutdown };
enum class connection_error : std::uint8_t {
  frame_too_big,
  binary_frame,
  slow_client,
  accept_exhausted,
  read_error,
  request_timeout,      // an HTTP request (or upgrade) that did not arrive in time
  header_too_large,     // an HTTP header block over the cap
  unauthenticated_cap,  // an upgrade refused: too many connections not logged in
  tls_handshake,        // a TLS handshake that failed or did not finish in time
  address_cap,          // a connection refused: its source address holds too many
  address_login_rate    // a login refused: its source address tries too often
};

// Apps named here get their own `app` label; any other SDKAppID is counted
// as app="other", so an attacker's random SDKAppIDs cannot add series.
void register_apps(const std::vector<std::uint32_t>& sdkappids);

void login_finished(std::uint32_t sdkappid, errc code, std::chrono::steady_clock::duration latency);
void instance_online(std::uint32_t sdkappid, platform p);
void instance_offline(std::uint32_t sdkappid, platform p);
void instance_kicked(std::uint32_t sdkappid, kick_type type);
void logged_out(std::uint32_t sdkappid, logout_reason reason);
void connection_opened();
void connection_closed();
void connection_failed(connection_error what);
void rest_call(std::string_view command, errc code);
// Creates the command's success series at 0, so that rate() sees its first calls.
void declare_rest_command(std::string_view command);

// Live actors (sessions, registries, ...): read at each scrape from `source`.
// A number that grows while chatd_online_instances does not is a leak.
void set_actor_count_source(std::function<double()> source);
// Failed writes to the durable store: read at each scrape from `source`.
void set_store_failure_source(std::function<double()> source);
// Entries retained in all timelines: read at each scrape from `source`.
void set_timeline_entries_source(std::function<double()> source);

// A message committed to its timelines.
void message_sent(std::uint32_t sdkappid);
// A timeline entry queued to one instance; `latency` after its send
// arrived when it is live (a synced entry, read back from the store, has
// none: its send may be days old).
void message_delivered(std::uint32_t sdkappid,
                       std::optional<std::chrono::steady_clock::duration> latency);

// A cluster node (actors/cluster_node.cpp): who it sees, its requests to
// the nodes that own users, and instances it moved to a new owner.
enum class cluster_op : std::uint8_t { login, adopt, logout, renew, kick, online, claim };
enum class cluster_result : std::uint8_t { ok, moved, failed };
void cluster_members(std::size_t live);
// After each lease round: whether it committed, and the shards this node admits logins for.
void cluster_leases(bool store_reachable, std::size_t shards_open);
void cluster_request(cluster_op op, cluster_result result,
                     std::chrono::steady_clock::duration latency);
void cluster_reowned(std::size_t instances);

std::shared_ptr<prometheus::Registry> registry();

// The current value of one series (counter, gauge, or histogram count);
// 0 if absent. For tests and tools.
double value_of(std::string_view family, const std::map<std::string, std::string>& labels);

}  // namespace chatd::metrics
