#include "server/config.hpp"

#include <toml++/toml.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace chatd {
namespace {

// Where a value came from, for "file:line: key: problem" messages.
struct location {
  const std::string& source;
  std::string key;
  const toml::node& node;

  [[noreturn]] void fail(std::string_view problem) const {
    std::ostringstream out;
    out << source << ':' << node.source().begin.line << ": " << key << ": " << problem;
    throw config_error(out.str());
  }

  std::int64_t integer(std::int64_t lo, std::int64_t hi) const {
    const auto* v = node.as_integer();
    if (v == nullptr || v->get() < lo || v->get() > hi)
      fail("expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
    return v->get();
  }

  bool boolean() const {
    const auto* v = node.as_boolean();
    if (v == nullptr)
      fail("expected true or false");
    return v->get();
  }

  std::string string() const {
    const auto* v = node.as_string();
    if (v == nullptr)
      fail("expected a string");
    return v->get();
  }

  std::string one_of(std::initializer_list<std::string_view> choices) const {
    auto value = string();
    for (auto choice : choices)
      if (choice == value)
        return value;
    std::string list;
    for (auto choice : choices)
      list += (list.empty() ? "" : " | ") + std::string(choice);
    fail("expected one of " + list + ", got \"" + value + "\"");
  }

  // "HOST:PORT" with an IP address for HOST (chatd resolves no names).
  std::string address() const {
    auto value = string();
    check_address(value);
    return value;
  }

  std::vector<std::string> addresses() const {
    auto values = strings();
    for (const auto& value : values)
      check_address(value);
    return values;
  }

  void check_address(const std::string& value) const {
    host_port parsed;
    try {
      parsed = split_host_port(value);
    } catch (const config_error& e) {
      fail(e.what());
    }
    unsigned char buffer[sizeof(in6_addr)];
    if (inet_pton(AF_INET, parsed.host.c_str(), buffer) != 1 &&
        inet_pton(AF_INET6, parsed.host.c_str(), buffer) != 1)
      fail("\"" + value + "\": the host must be an IP address (e.g. 127.0.0.1:" +
           std::to_string(parsed.port) + "); chatd does not resolve names");
  }

  std::vector<std::string> strings() const {
    const auto* array = node.as_array();
    if (array == nullptr)
      fail("expected an array of strings");
    std::vector<std::string> out;
    for (const auto& item : *array) {
      if (!item.is_string())
        fail("expected an array of strings");
      out.push_back(item.as_string()->get());
    }
    return out;
  }
};

template <class Target>
struct key_spec {
  std::string_view name;
  std::function<void(const location&, Target&)> apply;
};

// The one table of [server] keys. Defaults live in server_config.
const std::vector<key_spec<server_config>> server_keys{
    {"listen", [](auto& at, auto& c) { c.listen = at.address(); }},
    {"metrics_listen", [](auto& at, auto& c) { c.metrics_listen = at.address(); }},
    {"state_dir", [](auto& at, auto& c) { c.state_dir = at.string(); }},
    {"tls_cert_file", [](auto& at, auto& c) { c.tls_cert_file = at.string(); }},
    {"tls_key_file", [](auto& at, auto& c) { c.tls_key_file = at.string(); }},
    {"plain_listen", [](auto& at, auto& c) { c.plain_listen = at.address(); }},
    {"idle_timeout_s", [](auto& at, auto& c) { c.idle_timeout_s = at.integer(1, 86400); }},
    {"max_frame_bytes", [](auto& at, auto& c) { c.max_frame_bytes = at.integer(256, 16 << 20); }},
    {"drain_grace_s", [](auto& at, auto& c) { c.drain_grace_s = at.integer(0, 3600); }},
    {"io_threads", [](auto& at, auto& c) { c.io_threads = at.integer(0, 256); }},
    {"actor_threads", [](auto& at, auto& c) { c.actor_threads = at.integer(0, 256); }},
    {"actor_scheduler",
     [](auto& at, auto& c) {
       c.actor_scheduler = at.one_of({"io", "sharing", "stealing"});
     }},
    {"outbox_frames", [](auto& at, auto& c) { c.outbox_frames = at.integer(16, 1 << 20); }},
    {"send_stall_timeout_s",
     [](auto& at, auto& c) { c.send_stall_timeout_s = at.integer(1, 3600); }},
    {"request_timeout_s", [](auto& at, auto& c) { c.request_timeout_s = at.integer(1, 300); }},
    {"max_unauthenticated",
     [](auto& at, auto& c) { c.max_unauthenticated = at.integer(1, 1'000'000); }},
    {"max_connections_per_address",
     [](auto& at, auto& c) { c.max_connections_per_address = at.integer(1, 1'000'000); }},
    {"max_logins_per_address_per_s",
     [](auto& at, auto& c) { c.max_logins_per_address_per_s = at.integer(1, 1'000'000); }},
    {"max_header_bytes", [](auto& at, auto& c) { c.max_header_bytes = at.integer(1024, 1 << 20); }},
    {"log_level",
     [](auto& at, auto& c) {
       c.log_level = at.one_of({"trace", "debug", "info", "warn", "error", "off"});
     }},
    {"demo", [](auto& at, auto& c) { c.demo = at.boolean(); }},
};

const std::vector<key_spec<store_config>> store_keys{
    {"backend",
     [](auto& at, auto& c) {
       c.backend = at.one_of({"sqlite", "postgres"});
     }},
    {"postgres_url", [](auto& at, auto& c) { c.postgres_url = at.string(); }},
};

const std::vector<key_spec<cluster_config>> cluster_keys{
    {"node",
     [](auto& at, auto& c) {
       c.node = at.string();
       const bool printable = std::all_of(c.node.begin(), c.node.end(),
                                          [](unsigned char ch) { return ch > 0x20 && ch < 0x7f; });
       if (c.node.empty() || c.node.size() > 64 || !printable)
         at.fail("expected 1..64 printable ASCII characters, no space");
     }},
    {"listen", [](auto& at, auto& c) { c.listen = at.address(); }},
    {"peers", [](auto& at, auto& c) { c.peers = at.addresses(); }},
    {"heartbeat_interval_ms",
     [](auto& at, auto& c) { c.heartbeat_interval_ms = at.integer(10, 60'000); }},
    {"connection_timeout_ms",
     [](auto& at, auto& c) { c.connection_timeout_ms = at.integer(50, 600'000); }},
    {"lease_ms", [](auto& at, auto& c) { c.lease_ms = at.integer(200, 600'000); }},
    {"lease_renew_ms", [](auto& at, auto& c) { c.lease_renew_ms = at.integer(20, 600'000); }},
    {"lease_margin_ms", [](auto& at, auto& c) { c.lease_margin_ms = at.integer(10, 600'000); }},
};

const std::vector<key_spec<lockout_config>> lockout_keys{
    {"max_failures", [](auto& at, auto& c) { c.max_failures = at.integer(1, 1000000); }},
    {"window_s", [](auto& at, auto& c) { c.window_s = at.integer(1, 86400); }},
    {"lock_s", [](auto& at, auto& c) { c.lock_s = at.integer(1, 86400); }},
};

const std::vector<key_spec<app_config>> app_keys{
    {"sdkappid", [](auto& at, auto& a) { a.sdkappid = at.integer(1, UINT32_MAX); }},
    {"secret_key",
     [](auto& at, auto& a) {
       a.secret_key = at.string();
       if (a.secret_key.empty())
         at.fail("must not be empty");
     }},
    {"admin", [](auto& at, auto& a) { a.admin = at.string(); }},
    {"multi_device_policy",
     [](auto& at, auto& a) {
       a.limits.policy = *parse_policy(at.one_of({"single", "dual", "triple", "multi"}));
     }},
    {"max_web_instances",
     [](auto& at, auto& a) {
       a.limits.max_web_instances = at.integer(1, max_web_instances_limit);
     }},
    {"max_devices_per_platform",
     [](auto& at, auto& a) {
       a.limits.max_devices_per_platform = at.integer(1, max_devices_per_platform_limit);
     }},
    {"package_expire_at",
     [](auto& at, auto& a) { a.package_expire_at_ms = at.integer(0, INT64_MAX); }},
    {"allowed_origins", [](auto& at, auto& a) { a.allowed_origins = at.strings(); }},
    {"message_retention_days",
     [](auto& at, auto& a) { a.message_retention_days = static_cast<int>(at.integer(1, 3650)); }},
    {"message_revoke_window_s",
     [](auto& at, auto& a) {
       a.message_revoke_window_s = static_cast<int>(at.integer(0, 7 * 24 * 3600));
     }},
    {"max_timeline_messages",
     [](auto& at, auto& a) {
       a.max_timeline_messages = static_cast<std::uint32_t>(at.integer(1, 1'000'000));
     }},
};

template <class Target>
void apply_table(const toml::table& table, const std::string& prefix,
                 const std::vector<key_spec<Target>>& keys, Target& target,
                 const std::string& source) {
  for (const auto& [key, value] : table) {
    const std::string name(key.str());
    auto spec =
        std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.name == name; });
    location at{source, prefix + name, value};
    if (spec == keys.end())
      at.fail("unknown key");
    spec->apply(at, target);
  }
}

const toml::table& as_table(const location& at) {
  if (!at.node.is_table())
    at.fail("expected a table");
  return *at.node.as_table();
}

void read_apps(const location& at, server_config& config) {
  const auto* array = at.node.as_array();
  if (array == nullptr || !array->is_array_of_tables())
    at.fail("expected [[app]] tables");
  std::set<std::uint32_t> seen;
  for (const auto& node : *array) {
    const auto& table = *node.as_table();
    app_config app;
    apply_table(table, "app.", app_keys, app, at.source);
    location where{at.source, "app", node};
    if (app.sdkappid == 0)
      where.fail("sdkappid is required");
    if (app.secret_key.empty())
      where.fail("secret_key is required");
    if (!seen.insert(app.sdkappid).second)
      location{at.source, "app.sdkappid", *table.get("sdkappid")}.fail(
          "duplicate sdkappid " + std::to_string(app.sdkappid));
    config.apps.push_back(std::move(app));
  }
}

// TLS needs both files (readable; their contents are checked at start);
// a second, plain listener only makes sense beside a TLS one.
void check_tls(server_config& config, const std::string& source_name,
               const std::filesystem::path& base_dir) {
  const bool cert = !config.tls_cert_file.empty();
  const bool key = !config.tls_key_file.empty();
  if (cert != key)
    throw config_error(source_name + ": server.tls_cert_file and server.tls_key_file go together");
  if (!cert && !config.plain_listen.empty())
    throw config_error(source_name + ": server.plain_listen needs TLS on server.listen " +
                       "(tls_cert_file and tls_key_file)");
  for (auto* file : {&config.tls_cert_file, &config.tls_key_file}) {
    if (file->empty())
      continue;
    if (file->is_relative())
      *file = base_dir / *file;
    if (!std::ifstream(*file))
      throw config_error(source_name + ": cannot read " + file->string());
  }
}

// A cluster shares its state (accounts, kicks, login config, timelines):
// only PostgreSQL can hold it for several processes.
void check_cluster(const cluster_config& cluster, const store_config& store, int request_timeout_s,
                   const std::string& source_name) {
  const bool any_key = !cluster.listen.empty() || !cluster.peers.empty();
  if (!cluster.enabled()) {
    if (any_key)
      throw config_error(source_name + ": cluster.node is required in a [cluster] section");
    return;
  }
  if (cluster.listen.empty())
    throw config_error(source_name + ": cluster.listen is required with cluster.node");
  if (store.backend != "postgres")
    throw config_error(
        source_name + ": a cluster shares its state: [cluster] needs store.backend = \"postgres\"");
  if (cluster.connection_timeout_ms <= cluster.heartbeat_interval_ms)
    throw config_error(source_name +
                       ": cluster.connection_timeout_ms must exceed cluster.heartbeat_interval_ms");
  // A lease must be renewed at least twice before its margin begins.
  if (2 * cluster.lease_renew_ms + cluster.lease_margin_ms >= cluster.lease_ms)
    throw config_error(source_name +
                       ": cluster.lease_ms must exceed 2 * cluster.lease_renew_ms + "
                       "cluster.lease_margin_ms");
  // A login that evicts an instance on an unreachable node waits up to the
  // fence time (docs/CLUSTER.md); the gateway must not give up first.
  const int fence_ms = cluster.connection_timeout_ms + cluster.lease_ms +
                       2 * cluster.lease_margin_ms + 2 * cluster.lease_renew_ms;
  if (request_timeout_s * 1000 <= fence_ms + 1000)
    throw config_error(source_name +
                       ": server.request_timeout_s must exceed the cluster's fence time + 1 s (" +
                       std::to_string(fence_ms + 1000) + " ms: docs/CLUSTER.md)");
}

}  // namespace

host_port split_host_port(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw config_error("address \"" + address + "\" is not HOST:PORT");
  host_port out;
  out.host = address.substr(0, colon);
  const auto port_text = address.substr(colon + 1);
  try {
    std::size_t used = 0;
    const int port = std::stoi(port_text, &used);
    if (used != port_text.size() || port < 0 || port > 65535)
      throw std::out_of_range("port");
    out.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    throw config_error("address \"" + address + "\" has a bad port");
  }
  return out;
}

server_config parse_config(std::string_view text, const std::string& source_name,
                           const std::filesystem::path& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw config_error(source_name + ":" + std::to_string(e.source().begin.line) + ": " +
                       std::string(e.description()));
  }
  server_config config;
  for (const auto& [key, value] : root) {
    const std::string name(key.str());
    location at{source_name, name, value};
    if (name == "server")
      apply_table(as_table(at), "server.", server_keys, config, source_name);
    else if (name == "lockout")
      apply_table(as_table(at), "lockout.", lockout_keys, config.lockout, source_name);
    else if (name == "store")
      apply_table(as_table(at), "store.", store_keys, config.store, source_name);
    else if (name == "cluster")
      apply_table(as_table(at), "cluster.", cluster_keys, config.cluster, source_name);
    else if (name == "app")
      read_apps(at, config);
    else
      at.fail("unknown key");
  }
  if (config.state_dir.is_relative())
    config.state_dir = base_dir / config.state_dir;
  check_tls(config, source_name, base_dir);
  if ((config.store.backend == "postgres") != !config.store.postgres_url.empty())
    throw config_error(source_name + ": store.postgres_url goes with store.backend = \"postgres\"");
  check_cluster(config.cluster, config.store, config.request_timeout_s, source_name);
  return config;
}

server_config load_config_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in)
    throw config_error(file.string() + ": cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file.string(), std::filesystem::absolute(file).parent_path());
}

}  // namespace chatd
