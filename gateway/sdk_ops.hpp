// The servcmd table of the Tencent Web SDK protocol (/binfo, /info).
#pragma once

#include <memory>
#include <string>

namespace chatd {

class peer;
class sdk_codec;

// Parses one SDK frame and runs its servcmd on the client's strand. Frames
// that are not {head:{servcmd, seq}} are ignored (the SDK never sends them).
void run_sdk_op(const std::shared_ptr<peer>& self, sdk_codec& codec, std::string text);

}  // namespace chatd
