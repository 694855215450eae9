#include "metrics/metrics.hpp"

#include <prometheus/registry.h>

namespace chatd {

std::shared_ptr<prometheus::Registry> metrics_registry() {
  static auto registry = std::make_shared<prometheus::Registry>();
  return registry;
}

}  // namespace chatd
