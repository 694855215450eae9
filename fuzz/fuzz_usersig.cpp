// UserSigs as a login brings them: decode, then the full verification.
#include <string>

#include "protocol/usersig.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view sig(reinterpret_cast<const char*>(data), size);
  (void)chatd::usersig::decode(sig);
  (void)chatd::usersig::decoded_json(sig);
  const chatd::usersig::expected_identity who{
      1400000000, "alice", "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"};
  (void)chatd::usersig::verify(sig, who, 1700000000);
  return 0;
}
