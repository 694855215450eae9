// chatd: wires config, the actor system, the gateway and metrics together.
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <sched.h>
#include <sys/resource.h>
#include <csignal>

#include <iostream>
#include <thread>

#include "actors/session_service.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/gateway_server.hpp"
#include "gateway/io_actor_executor.hpp"
#include "gateway/tls_context.hpp"
#include "metrics/exposer.hpp"
#include "metrics/metrics.hpp"
#include "server/app_catalog.hpp"
#include "server/backend.hpp"
#include "server/config.hpp"
#include "store/message_store.hpp"
#include "store/state_store.hpp"

namespace {

using namespace chatd;

struct options {
  std::string config_file;
  bool check_only = false;
  bool print_default = false;
  std::string log_level;
};

server_config read_config(const options& opts) {
  if (opts.config_file.empty())
    return parse_config(embedded_default_config(), "<embedded configs/chatd.toml>",
                        std::filesystem::current_path());
  return load_config_file(opts.config_file);
}

// Log lines are formatted on the calling thread but written by spdlog's own
// thread: a login never waits for stderr. A burst that outruns the writer
// drops the oldest queued lines rather than blocking (overrun_oldest).
void setup_logging(const std::string& level) {
  spdlog::init_thread_pool(16384, 1);
  auto logger = spdlog::create_async_nb<spdlog::sinks::stderr_color_sink_mt>("chatd");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
}

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

// Sockets are descriptors: use all the process may have.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int run_server(server_config config) {
  raise_file_limit();
  // A file size limit (RLIMIT_FSIZE) reached is a failed write, handled as
  // a full disk, not a signal that kills the server.
  std::signal(SIGXFSZ, SIG_IGN);
  const auto io_threads = io_thread_count(config);
  // The io_context outlives the actor system: session actors post into it.
  boost::asio::io_context io(static_cast<int>(io_threads));
  auto store = open_sqlite_store(config.state_dir);
  apply_overrides(config.apps, store->login_config_overrides());
  app_catalog apps(config.apps);
  std::vector<std::uint32_t> app_ids;
  for (const auto& app : config.apps)
    app_ids.push_back(app.sdkappid);
  metrics::register_apps(app_ids);
  server_backend backend(apps, *store, config.lockout);
  io_actor_executor on_io_threads(io);
  service_options actor_options;
  actor_options.scheduler_threads = actor_thread_count(config);
  actor_options.policy =
      config.actor_scheduler == "stealing" ? scheduler_policy::stealing : scheduler_policy::sharing;
  if (config.actor_scheduler == "io")
    actor_options.executor = &on_io_threads;
  session_service sessions(actor_options);
  // Destroyed before the actors: its last commits still hand their entries over.
  auto timelines = open_sqlite_message_store(config.state_dir);
  metrics::set_store_failure_source([&store, &timelines] {
    return static_cast<double>(store->write_failures() + timelines->write_failures());
  });
  metrics::set_timeline_entries_source(
      [&timelines] { return static_cast<double>(timelines->stored_entries()); });
  metrics::set_actor_count_source(
      [&sessions] { return static_cast<double>(sessions.running_actors()); });

  const bool tls = !config.tls_cert_file.empty();
  gateway_settings settings;
  const auto gateway_listen = split_host_port(config.listen);
  settings.listeners = {{gateway_listen.host, gateway_listen.port, tls}};
  if (!config.plain_listen.empty()) {
    const auto plain = split_host_port(config.plain_listen);
    settings.listeners.push_back({plain.host, plain.port, false});
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
  auto context = std::make_shared<gateway_context>(settings, sessions, backend, *timelines);
  if (tls)
    context->tls = make_tls_context(config.tls_cert_file, config.tls_key_file);

  metrics_endpoint metrics(config.metrics_listen);
  gateway_server gateway(io, context);
  const auto ports = gateway.start();
  const auto metrics_host = split_host_port(config.metrics_listen).host;
  // One line for scripts: the gateway's address (TLS or not), metrics, and
  // the plain listener beside a TLS one.
  std::cout << "listening gateway=" << gateway_listen.host << ':' << ports[0]
            << " metrics=" << metrics_host << ':' << metrics.port()
            << " scheme=" << (tls ? "wss" : "ws");
  if (ports.size() > 1)
    std::cout << " plain=" << settings.listeners[1].host << ':' << ports[1];
  std::cout << std::endl;
  spdlog::info("chatd serving {} app(s) with {} io thread(s)", config.apps.size(), io_threads);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec)
      return;
    spdlog::info("signal {}: draining for up to {}s", signal, config.drain_grace_s);
    gateway.drain(std::chrono::seconds(config.drain_grace_s), [&io] { io.stop(); });
  });

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < io_threads; ++i)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads)
    t.join();
  store->flush();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "chatd: a self-hosted chat login and session service (Tencent Cloud Chat compatible)"};
  options opts;
  app.add_option("-c,--config", opts.config_file,
                 "TOML config file (default: the embedded configs/chatd.toml)")
      ->check(CLI::ExistingFile);
  app.add_flag("--check-config", opts.check_only, "validate the config and exit");
  app.add_flag("--print-default-config", opts.print_default, "print the embedded config and exit");
  app.add_option("--log-level", opts.log_level, "override server.log_level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  CLI11_PARSE(app, argc, argv);

  if (opts.print_default) {
    std::cout << embedded_default_config();
    return 0;
  }
  server_config config;
  try {
    config = read_config(opts);
  } catch (const config_error& e) {
    std::cerr << "chatd: config error: " << e.what() << '\n';
    return 2;
  }
  if (opts.check_only) {
    std::cout << "config ok: " << config.apps.size() << " app(s)\n";
    return 0;
  }
  setup_logging(opts.log_level.empty() ? config.log_level : opts.log_level);
  int status = 1;
  try {
    status = run_server(std::move(config));
  } catch (const std::exception& e) {
    spdlog::critical("chatd failed: {}", e.what());
  }
  spdlog::shutdown();  // writes out what the async logger still holds
  return status;
}
