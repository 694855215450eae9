#include <doctest/doctest.h>

#include "server/config.hpp"

using namespace chatd;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "test.toml", "/base");
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

const std::string good_app = R"(
[[app]]
sdkappid = 1400000000
secret_key = "k"
)";

}  // namespace

TEST_CASE("the embedded default config is valid and describes the demo app") {
  const auto config = parse_config(embedded_default_config(), "embedded", "/srv");
  CHECK(config.listen == "127.0.0.1:8080");
  CHECK(config.metrics_listen == "127.0.0.1:9464");
  CHECK(config.state_dir == "/srv/var");
  REQUIRE(config.apps.size() == 1);
  CHECK(config.apps[0].sdkappid == 1400000000);
  CHECK(config.apps[0].limits.policy == multi_device_policy::dual);
}

TEST_CASE("config errors name file, line and key") {
  CHECK(error_of("[server]\nbogus = 1\n") == "test.toml:2: server.bogus: unknown key");
  CHECK(error_of("[server]\nidle_timeout_s = \"x\"\n") ==
        "test.toml:2: server.idle_timeout_s: expected an integer in 1..86400");
  CHECK(error_of(good_app + "multi_device_policy = \"quad\"\n") ==
        "test.toml:5: app.multi_device_policy: expected one of single | dual | triple | multi, got "
        "\"quad\"");
  CHECK(error_of(good_app + "max_web_instances = 11\n") ==
        "test.toml:5: app.max_web_instances: expected an integer in 1..10");
  CHECK(error_of(good_app + "max_devices_per_platform = 0\n") ==
        "test.toml:5: app.max_devices_per_platform: expected an integer in 1..3");
  CHECK(error_of(good_app + good_app) ==
        "test.toml:7: app.sdkappid: duplicate sdkappid 1400000000");
  CHECK(error_of("[nope]\n") == "test.toml:1: nope: unknown key");
  CHECK(error_of("[server\n").rfind("test.toml:1: ", 0) == 0);
  CHECK(error_of("[[app]]\nsecret_key = \"k\"\n").find("sdkappid is required") !=
        std::string::npos);
}

TEST_CASE("port 0 and absolute state dirs are accepted") {
  const auto config = parse_config(
      "[server]\nlisten = \"127.0.0.1:0\"\nstate_dir = \"/tmp/x\"\n" + good_app, "t", "/base");
  CHECK(split_host_port(config.listen).port == 0);
  CHECK(config.state_dir == "/tmp/x");
  CHECK_THROWS_AS(split_host_port("nohost"), config_error);
  CHECK_THROWS_AS(split_host_port("h:99999"), config_error);
}

TEST_CASE("abuse limits: generous defaults, bounded settings") {
  const auto defaults = parse_config(embedded_default_config(), "embedded", "/srv");
  CHECK(defaults.max_connections_per_address == 5000);
  CHECK(defaults.max_logins_per_address_per_s == 1000);
  CHECK(defaults.max_unauthenticated == 10000);
  CHECK(defaults.tls_cert_file.empty());
  const auto set = parse_config(
      "[server]\nmax_connections_per_address = 3\nmax_logins_per_address_per_s = 7\n" + good_app,
      "t", "/base");
  CHECK(set.max_connections_per_address == 3);
  CHECK(set.max_logins_per_address_per_s == 7);
  CHECK(error_of("[server]\nmax_connections_per_address = 0\n") ==
        "test.toml:2: server.max_connections_per_address: expected an integer in 1..1000000");
}

TEST_CASE("TLS takes both files, resolved against the config's folder") {
  CHECK(error_of("[server]\ntls_cert_file = \"c.pem\"\n" + good_app) ==
        "test.toml: server.tls_cert_file and server.tls_key_file go together");
  CHECK(error_of("[server]\nplain_listen = \"127.0.0.1:0\"\n" + good_app)
            .find("plain_listen needs TLS") != std::string::npos);
  CHECK(error_of("[server]\ntls_cert_file = \"c.pem\"\ntls_key_file = \"k.pem\"\n" + good_app) ==
        "test.toml: cannot read /base/c.pem");
}

TEST_CASE("a cluster section names the node, its address and peers, and needs PostgreSQL") {
  const std::string postgres =
      "[store]\nbackend = \"postgres\"\npostgres_url = \"postgresql://x@h/db\"\n";
  const std::string cluster =
      "[cluster]\nnode = \"n1\"\nlisten = \"10.0.0.1:7101\"\n"
      "peers = [\"10.0.0.2:7101\", \"10.0.0.3:7101\"]\n";
  const auto config = parse_config(postgres + cluster + good_app, "test.toml", "/base");
  CHECK(config.cluster.enabled());
  CHECK(config.cluster.node == "n1");
  CHECK(config.cluster.peers.size() == 2);
  CHECK(config.cluster.heartbeat_interval_ms == 500);
  CHECK(config.cluster.connection_timeout_ms == 2000);
  CHECK(config.cluster.lease_ms == 2000);
  CHECK(config.cluster.lease_renew_ms == 400);
  CHECK(config.cluster.lease_margin_ms == 500);
  CHECK_FALSE(parse_config(good_app, "test.toml", "/base").cluster.enabled());

  CHECK(error_of(cluster + good_app).find("[cluster] needs store.backend = \"postgres\"") !=
        std::string::npos);
  CHECK(error_of(postgres + "[cluster]\nlisten = \"10.0.0.1:7101\"\n" + good_app)
            .find("cluster.node is required") != std::string::npos);
  CHECK(error_of(postgres + "[cluster]\nnode = \"n1\"\n" + good_app)
            .find("cluster.listen is required") != std::string::npos);
  CHECK(error_of(postgres + "[cluster]\nnode = \"a b\"\n") ==
        "test.toml:5: cluster.node: expected 1..64 printable ASCII characters, no space");
  CHECK(error_of(postgres + cluster + "connection_timeout_ms = 500\nheartbeat_interval_ms = 600\n")
            .find("must exceed") != std::string::npos);
  CHECK(error_of(postgres + "[cluster]\npeers = [\"nohost\"]\n").find("is not HOST:PORT") !=
        std::string::npos);
  // A lease renewed too rarely for its margin, and a login that could not
  // wait out the fence time, are refused at start.
  CHECK(error_of(postgres + cluster + "lease_ms = 1000\nlease_renew_ms = 400\n" + good_app)
            .find("cluster.lease_ms must exceed") != std::string::npos);
  CHECK(error_of("[server]\nrequest_timeout_s = 5\n" + postgres + cluster + good_app)
            .find("server.request_timeout_s must exceed the cluster's fence time") !=
        std::string::npos);
}
