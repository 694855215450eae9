#include "metrics/process_collector.hpp"

#include "metrics/metrics.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>

namespace chatd::metrics {
namespace {

prometheus::MetricFamily gauge(std::string name, std::string help, double value,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(m);
  return f;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

}  // namespace

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
  // /proc/self/stat: fields after the ")" of the command name.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // Indexes are field numbers from proc(5) minus 3.
  const double cpu = (std::stod(f.at(11)) + std::stod(f.at(12))) / ticks;
  const double start = boot_time_seconds() + std::stod(f.at(19)) / ticks;
  const double vsize = std::stod(f.at(20));
  const double rss = std::stod(f.at(21)) * page;

  double fds = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++fds;
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);

  return {
      gauge("process_cpu_seconds_total", "User and system CPU time in seconds", cpu,
            prometheus::MetricType::Counter),
      gauge("process_resident_memory_bytes", "Resident memory size in bytes", rss),
      gauge("process_virtual_memory_bytes", "Virtual memory size in bytes", vsize),
      gauge("process_open_fds", "Open file descriptors", fds),
      gauge("process_max_fds", "Limit of open file descriptors",
            static_cast<double>(limit.rlim_cur)),
      gauge("process_start_time_seconds", "Start time since the epoch in seconds", start),
  };
}

}  // namespace chatd::metrics

namespace chatd::metrics {

namespace {
std::mutex source_mutex;
std::function<double()> actor_source;
std::function<double()> store_failure_source;
std::function<double()> timeline_source;
}  // namespace

void set_timeline_entries_source(std::function<double()> source) {
  std::lock_guard lock(source_mutex);
  timeline_source = std::move(source);
}

void set_actor_count_source(std::function<double()> source) {
  std::lock_guard lock(source_mutex);
  actor_source = std::move(source);
}

void set_store_failure_source(std::function<double()> source) {
  std::lock_guard lock(source_mutex);
  store_failure_source = std::move(source);
}

std::vector<prometheus::MetricFamily> actor_collector::Collect() const {
  std::lock_guard lock(source_mutex);
  std::vector<prometheus::MetricFamily> out;
  if (actor_source)
    out.push_back(gauge("chatd_actors_running",
                        "Live actors: sessions, user registries and the fixed ones",
                        actor_source()));
  if (store_failure_source)
    out.push_back(gauge("chatd_store_write_failures_total",
                        "Writes to the durable store that failed (full disk, I/O error)",
                        store_failure_source(), prometheus::MetricType::Counter));
  if (timeline_source)
    out.push_back(gauge("chatd_timeline_entries", "Entries retained in all users' timelines",
                        timeline_source()));
  return out;
}

}  // namespace chatd::metrics
