// The servcmd table of the Tencent Web SDK protocol (/binfo, /info).
#pragma once

#include <memory>
#include <string>

namespace chatd {

class connection;
struct gateway_context;

// Parses one SDK frame and runs its servcmd on the link's strand. Frames
// that are not {head:{servcmd, seq}} are ignored (the SDK never sends them).
void dispatch_sdk_frame(const std::shared_ptr<connection>& link,
                        const std::shared_ptr<gateway_context>& context, std::string text);

}  // namespace chatd
