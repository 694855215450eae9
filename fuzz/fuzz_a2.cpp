// The A2 tokens an SDK re-login brings back: chatd issued them, anyone can
// forge them.
#include <string>

#include "protocol/a2.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  (void)chatd::a2::sdkappid_of(token);
  (void)chatd::a2::verify(token,
                          "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e");
  return 0;
}
