#include "actors/session_service.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <atomic>
#include <random>
#include <thread>

#include "actors/host_scheduler.hpp"
#include "actors/node_protocol.hpp"

namespace chatd {
namespace {

std::size_t or_default(std::size_t value, std::size_t fallback) {
  return value != 0 ? value : fallback;
}

caf::actor_system_config make_config(std::size_t threads, scheduler_policy policy,
                                     actor_executor* executor,
                                     const std::optional<cluster_options>& cluster) {
  caf::actor_system_config cfg;
  if (executor != nullptr)
    use_host_scheduler(cfg, *executor);
  if (cluster) {
    cfg.load<caf::io::middleman>();
    add_cluster_message_types(cfg);
    // Both default to 0 (off) in CAF 0.17: a frozen peer would never be lost.
    cfg.set("middleman.heartbeat-interval", caf::timespan{cluster->heartbeat_interval});
    cfg.set("middleman.connection-timeout", caf::timespan{cluster->connection_timeout});
  }
  cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.policy",
          policy == scheduler_policy::sharing ? caf::atom("sharing") : caf::atom("stealing"));
  return cfg;
}

// Instance IDs: a random per-boot prefix (21 bits) and a counter (32 bits).
// Unique within the process, unlikely to repeat across restarts, and below
// 2^53 so that JavaScript clients keep every digit.
std::uint64_t boot_prefix() {
  std::random_device entropy;
  return (static_cast<std::uint64_t>(entropy()) & ((1u << 21) - 1)) | 1u;
}

}  // namespace

struct session_service::impl {
  std::size_t threads;
  caf::actor_system_config config;
  caf::actor_system system;
  expiry_wheel_actor expiry_wheel;
  std::shared_ptr<lease_gate> gate;  // a cluster's shard leases
  std::vector<directory_actor> directories;
  node_actor node;  // set in a cluster: every request about a user goes through it
  std::uint16_t cluster_port = 0;
  std::atomic<std::uint64_t> instance_counter;

  explicit impl(const service_options& options)
      : threads(or_default(options.scheduler_threads,
                           std::max(1u, std::thread::hardware_concurrency()))),
        config(make_config(threads, options.policy, options.executor, options.cluster)),
        system(config),
        instance_counter(boot_prefix() << 32) {
    expiry_wheel = spawn_expiry_wheel(system);
    std::shared_ptr<const registry_fencing> fencing;
    if (options.cluster) {
      gate = std::make_shared<lease_gate>();
      fencing = std::make_shared<registry_fencing>(
          registry_fencing{gate, cluster_fence_time(*options.cluster)});
    }
    for (std::size_t i = 0; i < or_default(options.directory_shards, 2 * threads); ++i)
      directories.push_back(spawn_directory(system, expiry_wheel, fencing));
    if (!options.cluster)
      return;
    try {
      join_cluster(*options.cluster);
    } catch (...) {
      // ~impl does not run for a constructor that throws, and the actor
      // system's destructor waits for every actor: end them here.
      shut_down();
      throw;
    }
  }

  void join_cluster(const cluster_options& cluster) {
    node = spawn_cluster_node(system, cluster, directories, expiry_wheel, gate);
    const auto [host, port] = split_address(cluster.listen);
    // SO_REUSEADDR: a node restarted at once binds its port again (a port
    // another process listens on still fails).
    auto bound = system.middleman().publish(node, port, host.c_str(), true);
    if (!bound) {
      throw std::runtime_error("cluster.listen " + cluster.listen +
                               ": cannot listen: " + system.render(bound.error()));
    }
    cluster_port = *bound;
  }

  ~impl() { shut_down(); }

  void shut_down() {
    // The host may have stopped running posted work (chatd's io_context
    // has returned, or never ran): the actors finish their shutdown on a
    // thread of ours.
    take_over_host_scheduler(system);
    if (node)
      caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    for (auto& a : directories)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(expiry_wheel, caf::exit_reason::user_shutdown);
  }

  // Sends a request about a user where it is decided: to the cluster node
  // (which finds the user's owner, itself included), or on a single node to
  // the user's directory shard. Directories and nodes take the same messages.
  template <class... Ts>
  void route(const user_key& key, Ts&&... xs) const {
    if (node)
      caf::anon_send(node, std::forward<Ts>(xs)...);
    else
      caf::anon_send(shard_of(directories, key), std::forward<Ts>(xs)...);
  }

  std::string new_instance_id() {
    return std::to_string(instance_counter.fetch_add(1, std::memory_order_relaxed));
  }
};

session_service::session_service(service_options options)
    : impl_(std::make_unique<impl>(options)) {}

session_service::~session_service() = default;

void session_service::login(login_order order, reply<login_grant> done) {
  order.instance_id = impl_->new_instance_id();
  const user_key key{order.sdkappid, order.user_id};
  impl_->route(key, login_atom::value, std::move(order), std::move(done));
}

// A live instance's own requests go straight to its registry on a single
// node (one hop less on every logout); in a cluster, by its user.
void session_service::logout(const session_handle& session, reply<errc> done) {
  if (impl_->node)
    return impl_->route(session->key, logout_atom::value, session->key, session->instance_id,
                        std::move(done));
  caf::anon_send(session->registry, logout_atom::value, session->instance_id, std::move(done));
}

void session_service::renew(const session_handle& session, std::int64_t sig_expires_at_ms,
                            reply<errc> done) {
  if (impl_->node)
    return impl_->route(session->key, renew_atom::value, session->key, session->instance_id,
                        sig_expires_at_ms, std::move(done));
  caf::anon_send(session->registry, renew_atom::value, session->instance_id, sig_expires_at_ms,
                 std::move(done));
}

void session_service::kick_user(std::uint32_t sdkappid, std::string user_id, kick_type type,
                                reply<std::size_t> done) {
  user_key key{sdkappid, std::move(user_id)};
  impl_->route(key, kick_atom::value, key, type, std::move(done));
}

void session_service::online_instances(std::uint32_t sdkappid, std::string user_id,
                                       reply<std::vector<online_instance>> done) {
  user_key key{sdkappid, std::move(user_id)};
  impl_->route(key, online_atom::value, key, std::move(done));
}

void session_service::notify(std::uint32_t sdkappid, std::string user_id, user_notice notice,
                             std::string except_instance) {
  user_key key{sdkappid, std::move(user_id)};
  impl_->route(key, notify_atom::value, key, std::move(notice), std::move(except_instance));
}

void session_service::deliver(timeline_entry entry, std::string except_instance) {
  user_key key{entry.message->sdkappid, entry.owner()};
  impl_->route(key, deliver_atom::value, key, std::move(entry), std::move(except_instance));
}

void session_service::leave_cluster() {
  if (impl_->node)
    caf::anon_send(impl_->node, leave_atom::value);
}

std::uint16_t session_service::cluster_port() const {
  return impl_->cluster_port;
}

std::size_t session_service::running_actors() const {
  return impl_->system.registry().running();
}

}  // namespace chatd
