// chatd's configuration: the TOML file of CONTRACT §5, read with toml++ and
// checked against one table of keys (server/config.cpp).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/app_config.hpp"

namespace chatd {

struct lockout_config {
  int max_failures = 10;
  int window_s = 60;
  int lock_s = 60;
};

// Where durable state lives: SQLite files in server.state_dir (one node),
// or a PostgreSQL database (shared by the nodes of a cluster).
struct store_config {
  std::string backend = "sqlite";  // sqlite | postgres
  std::string postgres_url;        // libpq URL, "postgresql://user@host:port/db"
};

// Several chatd processes as one service over CAF's middleman
// (docs/CLUSTER.md). A single node when `node` is empty.
struct cluster_config {
  std::string node;                // this node's name, unique in the cluster
  std::string listen;              // "host:port" for its peers: a private address
  std::vector<std::string> peers;  // every other node's `listen`
  int heartbeat_interval_ms = 500;
  int connection_timeout_ms = 2000;  // a peer silent this long is lost
  // Shard leases in PostgreSQL (docs/CLUSTER.md, "Leases").
  int lease_ms = 2000;
  int lease_renew_ms = 400;
  int lease_margin_ms = 500;
  bool enabled() const { return !node.empty(); }
};

struct server_config {
  std::string listen = "127.0.0.1:8080";
  std::string metrics_listen = "127.0.0.1:9464";
  // TLS: with both set, `listen` serves wss:// and https://; `plain_listen`
  // adds a plain listener beside it. Resolved against the config's folder.
  std::filesystem::path tls_cert_file;
  std::filesystem::path tls_key_file;
  std::string plain_listen;
  std::filesystem::path state_dir = "var";  // resolved against the config's folder
  int idle_timeout_s = 300;
  int max_frame_bytes = 65536;
  int drain_grace_s = 10;
  int io_threads = 0;
  int actor_threads = 0;
  std::string actor_scheduler = "io";  // io | sharing | stealing
  int outbox_frames = 1024;
  int send_stall_timeout_s = 10;
  int request_timeout_s = 10;
  int max_header_bytes = 8192;
  int max_unauthenticated = 10000;
  int max_connections_per_address = 5000;
  int max_logins_per_address_per_s = 1000;
  std::string log_level = "info";
  // Serves the demo web page (clients/js/demo) at /demo/ on the gateway port.
  bool demo = false;
  lockout_config lockout;
  store_config store;
  cluster_config cluster;
  std::vector<app_config> apps;
};

// A configuration mistake, already phrased as "file:line: key: problem".
class config_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `base_dir` resolves relative paths (state_dir); `source_name` names the
// text in error messages.
server_config parse_config(std::string_view text, const std::string& source_name,
                           const std::filesystem::path& base_dir);
server_config load_config_file(const std::filesystem::path& file);

// The embedded configs/chatd.toml.
std::string_view embedded_default_config();

struct host_port {
  std::string host;
  std::uint16_t port = 0;
};
// "127.0.0.1:8080" -> {127.0.0.1, 8080}; throws config_error when malformed.
host_port split_host_port(const std::string& address);

}  // namespace chatd
