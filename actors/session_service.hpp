// The actor system behind one facade, so that callers (the gateway, tests,
// embedders) never include CAF. Every method is asynchronous and thread-safe;
// each callback is called exactly once, on an actor thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/instance.hpp"
#include "actors/instance_table.hpp"
#include "actors/reply.hpp"
#include "actors/shard_leases.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/platform.hpp"

namespace chatd {

struct login_order {
  std::uint32_t sdkappid = 0;
  std::string user_id;
  chatd::platform platform = chatd::platform::web;
  std::string device_name;
  login_limits limits;                 // the app's rule at the time of login
  std::int64_t sig_expires_at_ms = 0;  // the instant the sig stops being valid
  std::shared_ptr<instance_sink> sink;
  std::string instance_id;  // assigned by session_service::login
};

// An opaque reference to a live instance's session; defined in the actor TUs.
struct session_ref;
using session_handle = std::shared_ptr<const session_ref>;

struct login_grant {
  errc code = errc::ok;
  std::string instance_id;
  session_handle session;
};

// CAF's scheduler. Work sharing parks idle threads on a condition variable;
// work stealing polls (and sleeps in short steps) when it runs out of work,
// which costs CPU at low and moderate load (docs/DESIGN.md, "Scheduler").
enum class scheduler_policy : std::uint8_t { sharing, stealing };

// Where the actors run when not on CAF's own threads: a host event loop
// (chatd's io_context) runs them on its threads, so that a login handled on
// an io thread is admitted by its actors on the same thread, with no thread
// hand-over or wake-up (docs/DESIGN.md, "Threads and scheduler").
class actor_executor {
 public:
  virtual ~actor_executor() = default;
  // Calls run(arg) soon, never inline, on one of the host's threads.
  virtual void post(void (*run)(void*), void* arg) = 0;
};

// Several nodes as one service over CAF's middleman (docs/CLUSTER.md).
struct cluster_options {
  std::string node;                // this node's name; unique in the cluster
  std::string listen;              // "host:port" its peers connect to
  std::vector<std::string> peers;  // every other node's `listen`
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds connection_timeout{5000};  // no heartbeat for this long: node lost
  std::chrono::milliseconds request_timeout{5000};     // a peer's answer
  // Who owns which shard of the users: leases in a linearizable store.
  std::shared_ptr<lease_store> leases;
  lease_timing timing;
};

struct service_options {
  std::size_t scheduler_threads = 0;  // 0: one per core
  scheduler_policy policy = scheduler_policy::sharing;
  std::size_t directory_shards = 0;  // 0: two per scheduler thread
  // If set, the actors run on the host's threads; `scheduler_threads` and
  // `policy` are then ignored. It must outlive the service; work it has not
  // run when the service is destroyed is finished by the service itself.
  actor_executor* executor = nullptr;
  // Set: this process is one node of a cluster.
  std::optional<cluster_options> cluster;
};

class session_service {
 public:
  explicit session_service(service_options options = {});
  ~session_service();
  session_service(const session_service&) = delete;
  session_service& operator=(const session_service&) = delete;

  // Every call is answered through its reply exactly once, from an actor
  // thread: a value, or `unavailable` if the actor that should answer is gone.

  // Admits a new instance under the user's registry, kicking per CONTRACT §3.
  void login(login_order order, reply<login_grant> done);
  // Takes one instance offline; 2024 if it is no longer online.
  void logout(const session_handle& session, reply<errc> done);
  // Moves the instance's sig expiry; 2024 if it is no longer online.
  void renew(const session_handle& session, std::int64_t sig_expires_at_ms, reply<errc> done);
  // Kicks every online instance of a user; answers how many were kicked.
  void kick_user(std::uint32_t sdkappid, std::string user_id, kick_type type,
                 reply<std::size_t> done);
  // The user's online instances, oldest first.
  void online_instances(std::uint32_t sdkappid, std::string user_id,
                        reply<std::vector<online_instance>> done);

  // Hands a committed timeline entry to every online instance of its owner
  // except `except_instance` (the sending one). Calls from one thread reach
  // each instance in the order they were made.
  void deliver(timeline_entry entry, std::string except_instance);
  // A notice to every online instance of the user but one ("" = none).
  void notify(std::uint32_t sdkappid, std::string user_id, user_notice notice,
              std::string except_instance);

  // A cluster node that drains: its peers take over its users' registries
  // and this node admits no more logins. Nothing on a single node.
  void leave_cluster();
  // The cluster port bound (listen port 0 picks one); 0 on a single node.
  std::uint16_t cluster_port() const;

  // Live actors in the system; for leak checks.
  std::size_t running_actors() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace chatd
