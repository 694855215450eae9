#include "server/server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>

#include <sched.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/session_service.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/gateway_server.hpp"
#include "gateway/io_actor_executor.hpp"
#include "gateway/tls_context.hpp"
#include "metrics/exposer.hpp"
#include "metrics/metrics.hpp"
#include "server/app_catalog.hpp"
#include "server/backend.hpp"
#include "server/state_lock.hpp"
#include "store/message_store.hpp"
#include "store/postgres_leases.hpp"
#include "store/state_store.hpp"

namespace chatd {

namespace {

// The cores this process may run on (taskset, cgroup cpusets), not the
// machine's: a chatd pinned to one core should not start threads for two.
std::size_t usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

// 0 means: every usable core runs io when the actors run on the io threads
// too; otherwise half the cores each for io and for CAF's threads (every
// login crosses between the two, and more threads than cores only add
// wake-ups: measured in docs/DESIGN.md, "Threads and scheduler").
std::size_t io_thread_count(const server_config& config) {
  if (config.io_threads > 0)
    return static_cast<std::size_t>(config.io_threads);
  const auto cores = usable_cores();
  return config.actor_scheduler == "io" ? cores : std::max<std::size_t>(1, cores / 2);
}

std::size_t actor_thread_count(const server_config& config) {
  if (config.actor_threads > 0)
    return static_cast<std::size_t>(config.actor_threads);
  return std::max<std::size_t>(1, usable_cores() / 2);
}

service_options actor_options(const server_config& config, actor_executor* on_io_threads) {
  service_options options;
  options.scheduler_threads = actor_thread_count(config);
  options.policy =
      config.actor_scheduler == "stealing" ? scheduler_policy::stealing : scheduler_policy::sharing;
  if (config.actor_scheduler == "io")
    options.executor = on_io_threads;
  if (config.cluster.enabled()) {
    const auto& c = config.cluster;
    options.cluster = cluster_options{c.node,
                                      c.listen,
                                      c.peers,
                                      std::chrono::milliseconds(c.heartbeat_interval_ms),
                                      std::chrono::milliseconds(c.connection_timeout_ms),
                                      std::chrono::milliseconds(c.connection_timeout_ms),
                                      open_postgres_leases(config.store.postgres_url),
                                      lease_timing{std::chrono::milliseconds(c.lease_ms),
                                                   std::chrono::milliseconds(c.lease_renew_ms),
                                                   std::chrono::milliseconds(c.lease_margin_ms)}};
  }
  return options;
}

// The config's apps with the login settings changed over REST on top.
std::vector<app_config> configured_apps(const server_config& config, state_store& store) {
  return configured_apps(config.apps, store.login_config_overrides());
}

// The embedded store's folder belongs to one process (PostgreSQL keeps its
// own state and is shared on purpose).
std::unique_ptr<state_dir_lock> lock_state_dir(const server_config& config) {
  if (config.store.backend == "postgres")
    return nullptr;
  return std::make_unique<state_dir_lock>(config.state_dir);
}

std::unique_ptr<state_store> open_state_store(const server_config& config) {
  if (config.store.backend == "postgres")
    return open_postgres_store(config.store.postgres_url);
  return open_sqlite_store(config.state_dir);
}

std::unique_ptr<message_store> open_timelines(const server_config& config) {
  if (config.store.backend == "postgres")
    return open_postgres_message_store(config.store.postgres_url);
  return open_sqlite_message_store(config.state_dir);
}

gateway_settings gateway_settings_of(const server_config& config) {
  gateway_settings settings;
  const auto listen = split_host_port(config.listen);
  settings.listeners = {{listen.host, listen.port, !config.tls_cert_file.empty(), "server.listen"}};
  if (!config.plain_listen.empty()) {
    const auto plain = split_host_port(config.plain_listen);
    settings.listeners.push_back({plain.host, plain.port, false, "server.plain_listen"});
  }
  settings.idle_timeout = std::chrono::seconds(config.idle_timeout_s);
  settings.max_frame_bytes = static_cast<std::size_t>(config.max_frame_bytes);
  settings.outbox_frames = static_cast<std::size_t>(config.outbox_frames);
  settings.send_stall_timeout = std::chrono::seconds(config.send_stall_timeout_s);
  settings.request_timeout = std::chrono::seconds(config.request_timeout_s);
  settings.max_header_bytes = static_cast<std::size_t>(config.max_header_bytes);
  settings.max_unauthenticated = config.max_unauthenticated;
  settings.max_connections_per_address = config.max_connections_per_address;
  settings.max_logins_per_address_per_s = config.max_logins_per_address_per_s;
  settings.demo = config.demo;
  return settings;
}

}  // namespace

// Members in construction order; destroyed in reverse, which is the order
// the parts need: the gateway before the stores it writes to, the
// timelines before the actors they hand entries to, the io_context last
// (session actors post into it).
struct server::impl {
  server_config config;
  std::size_t io_threads = io_thread_count(config);
  boost::asio::io_context io{static_cast<int>(io_threads)};
  std::unique_ptr<state_dir_lock> state_lock = lock_state_dir(config);
  std::unique_ptr<state_store> store = open_state_store(config);
  app_catalog apps{configured_apps(config, *store)};
  server_backend backend{apps, config.apps, *store, config.lockout};
  io_actor_executor on_io_threads{io};
  session_service sessions{actor_options(config, &on_io_threads)};
  std::unique_ptr<message_store> timelines = open_timelines(config);
  // Braces, not make_shared: clang 14 (the fuzz build) has no parenthesized
  // aggregate initialization.
  std::shared_ptr<gateway_context> context{
      new gateway_context{gateway_settings_of(config), sessions, backend, *timelines}};
  gateway_server gateway{io, context};
  std::unique_ptr<metrics_endpoint> metrics;
  std::vector<std::thread> threads;

  std::mutex mutex;
  std::condition_variable stopped_changed;
  bool started = false;
  bool stopping = false;
  bool stopped = false;

  explicit impl(server_config c) : config(std::move(c)) {
    if (!config.tls_cert_file.empty())
      context->tls = make_tls_context(config.tls_cert_file, config.tls_key_file);
    std::vector<std::uint32_t> app_ids;
    for (const auto& app : config.apps)
      app_ids.push_back(app.sdkappid);
    metrics::register_apps(app_ids);
    metrics::set_store_failure_source([this] {
      return static_cast<double>(store->write_failures() + timelines->write_failures());
    });
    metrics::set_timeline_entries_source(
        [this] { return static_cast<double>(timelines->stored_entries()); });
    metrics::set_actor_count_source(
        [this] { return static_cast<double>(sessions.running_actors()); });
    // Another chatd on the same PostgreSQL store changed a login config:
    // live here too for the next login.
    store->on_login_config_changed([this] {
      for (auto& app : configured_apps(config, *store))
        apps.replace(std::move(app));
      spdlog::info("login config changed by another node: applied");
    });
  }

  ~impl() {
    store->on_login_config_changed({});
    finish();
    metrics::set_store_failure_source({});
    metrics::set_timeline_entries_source({});
    metrics::set_actor_count_source({});
  }

  // The threads are done (or never started): flush and tell wait().
  void finish() {
    io.stop();
    for (auto& t : threads)
      if (t.joinable())
        t.join();
    store->flush();
    std::lock_guard lock(mutex);
    stopped = true;
    stopped_changed.notify_all();
  }
};

server::server(server_config config) : impl_(std::make_unique<impl>(std::move(config))) {}

server::~server() = default;

server_ports server::start(serving_threads threads) {
  auto& s = *impl_;
  server_ports ports;
  s.metrics = std::make_unique<metrics_endpoint>(s.config.metrics_listen);
  ports.metrics = s.metrics->port();
  const auto bound = s.gateway.start();
  ports.gateway = bound.at(0);
  if (bound.size() > 1)
    ports.plain = bound[1];
  if (s.config.cluster.enabled()) {
    ports.cluster = s.sessions.cluster_port();
    spdlog::info("cluster node {} listening on port {}", s.config.cluster.node, *ports.cluster);
  }
  s.started = true;
  if (threads == serving_threads::host) {
    spdlog::info("chatd serving {} app(s) on the host's threads", s.config.apps.size());
    return ports;
  }
  for (std::size_t i = 0; i < s.io_threads; ++i)
    s.threads.emplace_back([&io = s.io] { io.run(); });
  spdlog::info("chatd serving {} app(s) with {} io thread(s)", s.config.apps.size(), s.io_threads);
  return ports;
}

void server::run() {
  impl_->io.run();
}

void server::stop(std::chrono::milliseconds grace) {
  auto& s = *impl_;
  bool already_stopping = false;
  {
    std::lock_guard lock(s.mutex);
    already_stopping = std::exchange(s.stopping, true);
  }
  if (already_stopping) {
    wait();
    return;
  }
  // A cluster node hands its users' registries to the other nodes first.
  s.sessions.leave_cluster();
  if (s.started) {
    // The drain runs on the serving threads (chatd's or the host's).
    std::promise<void> drained;
    auto done = drained.get_future();
    s.gateway.drain(grace, [&io = s.io, &drained] {
      io.stop();
      drained.set_value();
    });
    done.wait();
  }
  for (auto& t : s.threads)
    t.join();
  s.finish();
}

void server::wait() {
  auto& s = *impl_;
  std::unique_lock lock(s.mutex);
  s.stopped_changed.wait(lock, [&s] { return s.stopped; });
}

std::size_t server::io_threads() const {
  return impl_->io_threads;
}

}  // namespace chatd
