// chatd: the command line, logging and signals around one chatd::server.
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <malloc.h>
#include <pthread.h>
#include <sys/resource.h>
#include <csignal>
#include <cstdlib>
#include <string_view>

#include <iostream>

#include "server/config.hpp"
#include "server/server.hpp"

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

// Large answers (a list of 500 conversations is 175 KB, built and
// serialized through about 1 MB of short-lived blocks) made glibc give that
// memory back to the kernel after each one and fault it in again for the
// next: some 185 page faults and a madvise per answer, 0.4 ms of its 3.4
// (bench/RESULTS.md). Blocks under 1 MiB come from the heap, and up to
// 8 MiB of free heap stays with each arena for reuse. An operator's own
// GLIBC_TUNABLES for malloc win.
void keep_freed_memory_for_reuse() {
  if (const char* tunables = std::getenv("GLIBC_TUNABLES");
      tunables != nullptr && std::string_view(tunables).find("malloc") != std::string_view::npos)
    return;
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
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

// Sockets are descriptors: use all the process may have.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// SIGINT and SIGTERM are taken by sigwait(): blocked before any thread
// starts (the logger's, CAF's, the server's), so that every thread
// inherits the mask and none is killed by them.
sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int run_server(server_config config, const sigset_t& stop_signals) {
  raise_file_limit();
  // A file size limit (RLIMIT_FSIZE) reached is a failed write, handled as
  // a full disk, not a signal that kills the server.
  std::signal(SIGXFSZ, SIG_IGN);
  const auto drain_grace = std::chrono::seconds(config.drain_grace_s);
  const auto gateway_host = split_host_port(config.listen).host;
  const auto metrics_host = split_host_port(config.metrics_listen).host;
  const auto plain_host =
      config.plain_listen.empty() ? "" : split_host_port(config.plain_listen).host;
  const bool tls = !config.tls_cert_file.empty();
  const auto cluster_host =
      config.cluster.enabled() ? split_host_port(config.cluster.listen).host : "";
  chatd::server service(std::move(config));
  const auto ports = service.start();
  // One line for scripts: the gateway's address (TLS or not), metrics, and
  // the plain listener beside a TLS one.
  std::cout << "listening gateway=" << gateway_host << ':' << ports.gateway
            << " metrics=" << metrics_host << ':' << ports.metrics
            << " scheme=" << (tls ? "wss" : "ws");
  if (ports.plain)
    std::cout << " plain=" << plain_host << ':' << *ports.plain;
  if (ports.cluster)
    std::cout << " cluster=" << cluster_host << ':' << *ports.cluster;
  std::cout << std::endl;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("signal {}: draining for up to {}s", signal, drain_grace.count());
  service.stop(drain_grace);
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "chatd: a self-hosted chat login and session service (Tencent Cloud Chat compatible)"};
  app.option_defaults()->always_capture_default();
  options opts;
  app.set_version_flag("--version", std::string("chatd ") + CHATD_VERSION);
  app.add_option("-c,--config", opts.config_file,
                 "TOML config file (default: the embedded configs/chatd.toml)")
      ->check(CLI::ExistingFile);
  app.add_flag("--check-config", opts.check_only, "validate the config and exit");
  app.add_flag("--print-default-config", opts.print_default, "print the embedded config and exit");
  app.add_option("--log-level", opts.log_level, "override server.log_level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  CLI11_PARSE(app, argc, argv);
  keep_freed_memory_for_reuse();

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
  const auto stop_signals = block_stop_signals();
  setup_logging(opts.log_level.empty() ? config.log_level : opts.log_level);
  int status = 1;
  try {
    status = run_server(std::move(config), stop_signals);
  } catch (const std::exception& e) {
    spdlog::critical("chatd failed: {}", e.what());
  }
  spdlog::shutdown();  // writes out what the async logger still holds
  return status;
}
