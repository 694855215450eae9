// The op table of the native protocol: one handler per `op` name.
#pragma once

#include <memory>
#include <string>

namespace chatd {

class peer;

// Parses one text frame and runs its op on the client's strand. Ops that
// wait for actors run concurrently with later frames (hence 2025 for a
// second login while one is in flight).
void run_native_op(const std::shared_ptr<peer>& self, std::string text);

}  // namespace chatd
