// Internal to actors/: a CAF scheduler that runs actors on the host's
// threads through an actor_executor (session_service.hpp), loaded into the
// actor system as its scheduler module.
#pragma once

#include <caf/fwd.hpp>

namespace chatd {

class actor_executor;

// Installs the host scheduler into `cfg`; `executor` must outlive the system.
void use_host_scheduler(caf::actor_system_config& cfg, actor_executor& executor);

// Before the actor system shuts down: from now on, the host scheduler runs
// its work on a thread of its own, so that shutdown completes even when the
// host has stopped running posted work. No-op for CAF's own schedulers.
void take_over_host_scheduler(caf::actor_system& system);

}  // namespace chatd
