// chatd's metrics. Hot-path updates go through cached handles (atomics), so
// recording costs no lock or label lookup.
#pragma once

#include <memory>

namespace prometheus {
class Registry;
}

namespace chatd {

std::shared_ptr<prometheus::Registry> metrics_registry();

}  // namespace chatd
