#include "metrics/exposer.hpp"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include "metrics/metrics.hpp"
#include "metrics/process_collector.hpp"

namespace chatd {

struct metrics_endpoint::impl {
  // The Exposer holds collectables by weak_ptr: keep ours alive here.
  std::shared_ptr<metrics::process_collector> process =
      std::make_shared<metrics::process_collector>();
  std::shared_ptr<metrics::actor_collector> actors = std::make_shared<metrics::actor_collector>();
  prometheus::Exposer exposer;
  explicit impl(const std::string& address) : exposer(address, 1) {
    exposer.RegisterCollectable(metrics::registry());
    exposer.RegisterCollectable(process);
    exposer.RegisterCollectable(actors);
  }
};

metrics_endpoint::metrics_endpoint(const std::string& address)
    : impl_(std::make_unique<impl>(address)) {}

metrics_endpoint::~metrics_endpoint() = default;

std::uint16_t metrics_endpoint::port() const {
  return impl_->exposer.GetListeningPorts().front();
}

}  // namespace chatd
