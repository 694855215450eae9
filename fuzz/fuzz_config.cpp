// The TOML config loader: any text either loads or is a config_error that
// names the place; nothing else escapes.
#include <filesystem>
#include <string>

#include "server/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)chatd::parse_config(text, "fuzz.toml", "/nonexistent");
  } catch (const chatd::config_error&) {
  }
  return 0;
}
