// Internal to actors/: the atoms that name the actors' messages. Includes CAF.
#pragma once

#include <caf/atom.hpp>

namespace chatd {

using login_atom = caf::atom_constant<caf::atom("login")>;
using logout_atom = caf::atom_constant<caf::atom("logout")>;
using renew_atom = caf::atom_constant<caf::atom("renew")>;
using kick_atom = caf::atom_constant<caf::atom("kick")>;
using online_atom = caf::atom_constant<caf::atom("online")>;
using retire_atom = caf::atom_constant<caf::atom("retire")>;
using expired_atom = caf::atom_constant<caf::atom("expired")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using unwatch_atom = caf::atom_constant<caf::atom("unwatch")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using notify_atom = caf::atom_constant<caf::atom("notify")>;
using kicked_atom = caf::atom_constant<caf::atom("kicked")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using disown_atom = caf::atom_constant<caf::atom("disown")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using due_atom = caf::atom_constant<caf::atom("due")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using answered_atom = caf::atom_constant<caf::atom("answered")>;
using lease_atom = caf::atom_constant<caf::atom("lease")>;
using claim_atom = caf::atom_constant<caf::atom("claim")>;

}  // namespace chatd
