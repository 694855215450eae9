// UserSig verifications per second on one core: the CPU cost of the login
// path's crypto and decoding (base64, inflate, JSON, HMAC-SHA256). JSON out.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "protocol/usersig.hpp"

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::stod(argv[1]) : 3.0;
  const std::string key = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
  std::vector<std::string> sigs;
  for (int i = 0; i < 1000; ++i)
    sigs.push_back(chatd::usersig::generate(
        {key, 1400000000, "user" + std::to_string(i), 86400, 1700000000, {}}));
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  std::size_t done = 0, ok = 0;
  while (clock::now() < until) {
    for (int i = 0; i < 1000; ++i) {
      const auto verdict = chatd::usersig::verify(
          sigs[i], {1400000000, "user" + std::to_string(i), key}, 1700000001);
      ok += verdict.code == chatd::errc::ok;
    }
    done += 1000;
  }
  const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
  std::printf(
      "{\"benchmark\":\"usersig_verify\",\"threads\":1,\"verifications\":%zu,\"ok\":%zu,"
      "\"seconds\":%.3f,\"verifications_per_s_per_core\":%.0f,\"us_per_verification\":%.3f}\n",
      done, ok, elapsed, done / elapsed, elapsed * 1e6 / done);
  return ok == done ? 0 : 1;
}
