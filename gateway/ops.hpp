// The op table of the native protocol: one handler per `op` name.
#pragma once

#include <memory>
#include <string>

namespace chatd {

class connection;
struct gateway_context;

// Parses one text frame and runs its op on the link's strand. Ops that wait
// for actors run concurrently with later frames (hence 2025 for a second
// login while one is in flight).
void dispatch_frame(const std::shared_ptr<connection>& link,
                    const std::shared_ptr<gateway_context>& context, std::string text);

// The connection is gone: take its instance (if any) offline.
void release_connection(connection& link, gateway_context& context);

// Server shutdown: the instance (if any) goes offline with sdkStateNotReady,
// then the connection closes with 1001. Call on the link's strand.
void drain_connection(connection& link, gateway_context& context);

}  // namespace chatd
