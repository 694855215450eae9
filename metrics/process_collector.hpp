// The standard process_* metrics (resident memory, CPU, descriptors, start
// time) read from /proc/self. prometheus-cpp has no process collector, so
// this one is written by hand.
#pragma once

#include <prometheus/collectable.h>

namespace chatd::metrics {

class process_collector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

// chatd_actors_running, computed at scrape time.
class actor_collector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace chatd::metrics
