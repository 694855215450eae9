#include "protocol/message.hpp"

#include <random>

namespace chatd {

errc check_text(std::string_view text) {
  return text.empty() || text.size() > max_text_bytes ? errc::text_invalid : errc::ok;
}

errc check_body(const chat_message& m) {
  if (!m.custom)
    return check_text(m.text);
  const auto size = m.custom->size();
  return !m.text.empty() || size == 0 || size > max_text_bytes ? errc::text_invalid : errc::ok;
}

std::string message_key(std::uint64_t client_seq, std::uint32_t random, std::int64_t time_s) {
  return std::to_string(client_seq) + '_' + std::to_string(random) + '_' + std::to_string(time_s);
}

std::uint32_t new_message_random() {
  thread_local std::mt19937 engine{std::random_device{}()};
  return std::uniform_int_distribution<std::uint32_t>(0, 99'999'999)(engine);
}

}  // namespace chatd
