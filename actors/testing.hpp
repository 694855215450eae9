// Test hooks into the actors, kept out of the production facade: linked
// only into test binaries (chatd_actors_testing).
#pragma once

#include "actors/session_service.hpp"

namespace chatd::testing {

// Kills an instance's session actor from outside, as a crash would.
void kill_session(const session_handle& session);
// Kills the registry of an instance's user, as a crash would.
void kill_registry(const session_handle& session);

}  // namespace chatd::testing
