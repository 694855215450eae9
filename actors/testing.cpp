#include "actors/testing.hpp"

#include <caf/all.hpp>

#include "actors/node_protocol.hpp"

namespace chatd::testing {

void kill_session(const session_handle& session) {
  caf::anon_send_exit(session->session, caf::exit_reason::kill);
}

void kill_registry(const session_handle& session) {
  caf::anon_send_exit(session->registry, caf::exit_reason::kill);
}

}  // namespace chatd::testing
