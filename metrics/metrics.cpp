#include "metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace chatd::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr std::array<std::string_view, 4> logout_reason_names{"logout", "destroy", "disconnect",
                                                              "shutdown"};
constexpr std::array<std::string_view, 11> connection_error_names{
    "frame_too_big", "binary_frame",    "slow_client",       "accept_exhausted",
    "read_error",    "request_timeout", "header_too_large",  "unauthenticated_cap",
    "tls_handshake", "address_cap",     "address_login_rate"};

constexpr std::array<std::string_view, 7> cluster_op_names{"login", "adopt",  "logout", "renew",
                                                           "kick",  "online", "claim"};
constexpr std::array<std::string_view, 3> cluster_result_names{"ok", "moved", "failed"};

// 100 µs .. 10 s.
const Histogram::BucketBoundaries latency_buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                  0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                  1,      2.5,     5,      10};

struct families {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  Family<Gauge>& online = prometheus::BuildGauge()
                              .Name("chatd_online_instances")
                              .Help("Logged-in instances by app and platform")
                              .Register(*registry);
  Family<Counter>& logins = prometheus::BuildCounter()
                                .Name("chatd_logins_total")
                                .Help("Login requests by app and result code (0 = success)")
                                .Register(*registry);
  Family<Histogram>& login_duration = prometheus::BuildHistogram()
                                          .Name("chatd_login_duration_seconds")
                                          .Help("Login request to sdkStateReady, by result")
                                          .Register(*registry);
  Family<Counter>& kicks = prometheus::BuildCounter()
                               .Name("chatd_kicks_total")
                               .Help("Kicked instances by app and kick type")
                               .Register(*registry);
  Family<Counter>& logouts = prometheus::BuildCounter()
                                 .Name("chatd_logouts_total")
                                 .Help("Instances taken offline without a kick, by reason")
                                 .Register(*registry);
  Family<Gauge>& connections_open = prometheus::BuildGauge()
                                        .Name("chatd_connections_open")
                                        .Help("Open client WebSocket connections")
                                        .Register(*registry);
  Family<Counter>& connections = prometheus::BuildCounter()
                                     .Name("chatd_connections_total")
                                     .Help("Client WebSocket connections accepted")
                                     .Register(*registry);
  Family<Counter>& connection_errors =
      prometheus::BuildCounter()
          .Name("chatd_connection_errors_total")
          .Help("Connections ended or refused by an error, by kind")
          .Register(*registry);
  Family<Counter>& rest = prometheus::BuildCounter()
                              .Name("chatd_rest_requests_total")
                              .Help("Admin REST calls by command and result code")
                              .Register(*registry);
  Family<Counter>& messages_sent =
      prometheus::BuildCounter()
          .Name("chatd_messages_sent_total")
          .Help("Messages committed to their timelines (answered to the sender)")
          .Register(*registry);
  Family<Counter>& messages_delivered =
      prometheus::BuildCounter()
          .Name("chatd_messages_delivered_total")
          .Help("Timeline entries queued to online instances (live and sync)")
          .Register(*registry);
  Family<Histogram>& delivery_latency =
      prometheus::BuildHistogram()
          .Name("chatd_message_delivery_seconds")
          .Help("From a send's arrival to its entry queued to a live recipient instance")
          .Register(*registry);
  Family<Gauge>& cluster_members_gauge =
      prometheus::BuildGauge()
          .Name("chatd_cluster_members")
          .Help("Cluster nodes this node sees live, itself included (0 on a single node)")
          .Register(*registry);
  Family<Gauge>& cluster_leases_gauge =
      prometheus::BuildGauge()
          .Name("chatd_cluster_lease_store_up")
          .Help("1 while this node's lease rounds commit in the lease store, else 0")
          .Register(*registry);
  Family<Gauge>& cluster_shards_gauge =
      prometheus::BuildGauge()
          .Name("chatd_cluster_shards_open")
          .Help("Shards whose lease this node holds and whose logins it admits")
          .Register(*registry);
  Family<Counter>& cluster_requests =
      prometheus::BuildCounter()
          .Name("chatd_cluster_requests_total")
          .Help("Requests to the node that owns a user, by operation and result")
          .Register(*registry);
  Family<Histogram>& cluster_request_duration =
      prometheus::BuildHistogram()
          .Name("chatd_cluster_request_seconds")
          .Help("Requests to the node that owns a user, until the answer, by operation")
          .Register(*registry);
  Family<Counter>& cluster_reowned =
      prometheus::BuildCounter()
          .Name("chatd_cluster_reowned_instances_total")
          .Help("Live instances of this node registered again with a new owner node")
          .Register(*registry);
  Family<Gauge>& build_info = prometheus::BuildGauge()
                                  .Name("chatd_build_info")
                                  .Help("Always 1; labels say which build runs")
                                  .Register(*registry);
  Histogram& login_ok = login_duration.Add({{"result", "ok"}}, latency_buckets);
  Histogram& login_error = login_duration.Add({{"result", "error"}}, latency_buckets);
  Histogram& delivery = delivery_latency.Add({}, latency_buckets);
  Gauge& open = connections_open.Add({});
  Counter& accepted = connections.Add({});
  std::array<Counter*, connection_error_names.size()> errors{};
  Gauge& members = cluster_members_gauge.Add({});
  Gauge& lease_store_up = cluster_leases_gauge.Add({});
  Gauge& shards_open = cluster_shards_gauge.Add({});
  Counter& reowned = cluster_reowned.Add({});
  std::array<std::array<Counter*, cluster_result_names.size()>, cluster_op_names.size()>
      cluster_counts{};
  std::array<Histogram*, cluster_op_names.size()> cluster_latency{};

  families() {
    for (std::size_t op = 0; op < cluster_op_names.size(); ++op) {
      const std::string name(cluster_op_names[op]);
      cluster_latency[op] = &cluster_request_duration.Add({{"op", name}}, latency_buckets);
      for (std::size_t r = 0; r < cluster_result_names.size(); ++r)
        cluster_counts[op][r] =
            &cluster_requests.Add({{"op", name}, {"result", std::string(cluster_result_names[r])}});
    }
    build_info.Add({{"version", CHATD_VERSION}}).Set(1);
    for (std::size_t i = 0; i < errors.size(); ++i)
      errors[i] = &connection_errors.Add({{"kind", std::string(connection_error_names[i])}});
  }
};

families& instruments() {
  static families f;
  return f;
}

// The series of one app label, created once; login codes lazily, since most
// codes never occur.
struct app_series {
  std::string label;
  std::array<Gauge*, platform_count> online{};
  std::array<Counter*, kick_type_count> kicks{};
  std::array<Counter*, logout_reason_names.size()> logouts{};
  Counter* sent = nullptr;
  Counter* delivered = nullptr;
  std::vector<std::atomic<Counter*>> logins;
  std::mutex create_mutex;

  explicit app_series(std::string app) : label(std::move(app)), logins(code_count() + 1) {
    auto& f = instruments();
    for (int p = 0; p < platform_count; ++p)
      online[p] = &f.online.Add(
          {{"app", label}, {"platform", std::string(platform_name(static_cast<platform>(p)))}});
    for (int k = 0; k < kick_type_count; ++k)
      kicks[k] = &f.kicks.Add(
          {{"app", label}, {"type", std::string(kick_type_name(static_cast<kick_type>(k)))}});
    for (std::size_t r = 0; r < logouts.size(); ++r)
      logouts[r] =
          &f.logouts.Add({{"app", label}, {"reason", std::string(logout_reason_names[r])}});
    sent = &f.messages_sent.Add({{"app", label}});
    delivered = &f.messages_delivered.Add({{"app", label}});
    // Each code a login can end with has its series from the start at 0: a
    // counter that appears with its first increment already in it hides that
    // increment from rate(). Others appear if they ever occur.
    for (std::size_t i = 0; i < code_count(); ++i)
      if (can_end_a_login(code_at(i)))
        logins[i].store(
            &f.logins.Add({{"app", label}, {"code", std::to_string(code_number(code_at(i)))}}));
  }

  Counter& login_counter(errc code) {
    auto& slot = logins[code_index(code)];
    if (auto* c = slot.load(std::memory_order_acquire))
      return *c;
    std::lock_guard lock(create_mutex);
    auto* c =
        &instruments().logins.Add({{"app", label}, {"code", std::to_string(code_number(code))}});
    slot.store(c, std::memory_order_release);
    return *c;
  }
};

using app_map = std::unordered_map<std::uint32_t, app_series*>;

// Read on every event without a lock: an immutable map, replaced whole
// only by register_apps at start-up. Replaced maps are kept (a few bytes),
// never freed, since a reader may still hold one; and never destroyed at
// exit, when a late thread might still count something.
std::atomic<const app_map*> known_apps{new app_map};
std::mutex register_mutex;
auto* const retired_maps = new std::vector<const app_map*>;

app_series& other_app() {
  static app_series series("other");
  return series;
}

app_series& series_of(std::uint32_t sdkappid) {
  const auto* apps = known_apps.load(std::memory_order_acquire);
  auto it = apps->find(sdkappid);
  return it == apps->end() ? other_app() : *it->second;
}

}  // namespace

void register_apps(const std::vector<std::uint32_t>& sdkappids) {
  std::lock_guard lock(register_mutex);
  auto next = std::make_unique<app_map>(*known_apps.load());
  for (auto id : sdkappids)
    if (next->count(id) == 0)
      next->emplace(id, new app_series(std::to_string(id)));
  retired_maps->push_back(known_apps.exchange(next.release(), std::memory_order_acq_rel));
}

void login_finished(std::uint32_t sdkappid, errc code,
                    std::chrono::steady_clock::duration latency) {
  series_of(sdkappid).login_counter(code).Increment();
  const double seconds = std::chrono::duration<double>(latency).count();
  (code == errc::ok ? instruments().login_ok : instruments().login_error).Observe(seconds);
}

void instance_online(std::uint32_t sdkappid, platform p) {
  series_of(sdkappid).online[static_cast<std::size_t>(p)]->Increment();
}

void instance_offline(std::uint32_t sdkappid, platform p) {
  series_of(sdkappid).online[static_cast<std::size_t>(p)]->Decrement();
}

void instance_kicked(std::uint32_t sdkappid, kick_type type) {
  series_of(sdkappid).kicks[static_cast<std::size_t>(type)]->Increment();
}

void logged_out(std::uint32_t sdkappid, logout_reason reason) {
  series_of(sdkappid).logouts[static_cast<std::size_t>(reason)]->Increment();
}

void message_sent(std::uint32_t sdkappid) {
  series_of(sdkappid).sent->Increment();
}

void message_delivered(std::uint32_t sdkappid,
                       std::optional<std::chrono::steady_clock::duration> latency) {
  series_of(sdkappid).delivered->Increment();
  if (latency)
    instruments().delivery.Observe(std::chrono::duration<double>(*latency).count());
}

void connection_opened() {
  instruments().open.Increment();
  instruments().accepted.Increment();
}

void connection_closed() {
  instruments().open.Decrement();
}

void connection_failed(connection_error what) {
  instruments().errors[static_cast<std::size_t>(what)]->Increment();
}

void cluster_members(std::size_t live) {
  instruments().members.Set(static_cast<double>(live));
}

void cluster_leases(bool store_reachable, std::size_t shards_open) {
  instruments().lease_store_up.Set(store_reachable ? 1 : 0);
  instruments().shards_open.Set(static_cast<double>(shards_open));
}

void cluster_request(cluster_op op, cluster_result result,
                     std::chrono::steady_clock::duration latency) {
  const auto o = static_cast<std::size_t>(op);
  instruments().cluster_counts[o][static_cast<std::size_t>(result)]->Increment();
  instruments().cluster_latency[o]->Observe(std::chrono::duration<double>(latency).count());
}

void cluster_reowned(std::size_t instances) {
  instruments().reowned.Increment(static_cast<double>(instances));
}

namespace {
std::mutex rest_mutex;
}

void rest_call(std::string_view command, errc code) {
  // Commands come from the REST table (or "unknown"), so labels stay bounded.
  std::lock_guard lock(rest_mutex);
  instruments()
      .rest.Add({{"command", std::string(command)}, {"code", std::to_string(code_number(code))}})
      .Increment();
}

void declare_rest_command(std::string_view command) {
  std::lock_guard lock(rest_mutex);
  instruments().rest.Add({{"command", std::string(command)}, {"code", "0"}});
}

std::shared_ptr<prometheus::Registry> registry() {
  return instruments().registry;
}

double value_of(std::string_view family, const std::map<std::string, std::string>& labels) {
  for (const auto& f : instruments().registry->Collect()) {
    if (f.name != family)
      continue;
    for (const auto& m : f.metric) {
      std::map<std::string, std::string> have;
      for (const auto& l : m.label)
        have[l.name] = l.value;
      if (have != labels)
        continue;
      switch (f.type) {
        case prometheus::MetricType::Counter:
          return m.counter.value;
        case prometheus::MetricType::Gauge:
          return m.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(m.histogram.sample_count);
        default:
          return 0;
      }
    }
  }
  return 0;
}

}  // namespace chatd::metrics
