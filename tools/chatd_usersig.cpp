// chatd-usersig: makes (or checks) a TLS-Sig API v2 UserSig, the same bytes
// Tencent's official Node generator produces.
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>

#include "protocol/usersig.hpp"

int main(int argc, char** argv) {
  CLI::App app{"chatd-usersig: generate or verify a Tencent-compatible UserSig"};
  app.option_defaults()->always_capture_default();
  std::uint32_t sdkappid = 0;
  std::string key, user, verify_sig;
  std::int64_t expire = 86400 * 180;
  std::int64_t issued_at = 0;
  app.add_option("--sdkappid", sdkappid, "SDKAppID")->required();
  app.add_option("--key", key, "the app's secret key")->required();
  app.add_option("--user", user, "userID")->required();
  // A sig that is never valid is a mistake, not a request: --time in the
  // past makes an expired one on purpose.
  app.add_option("--expire", expire, "validity in seconds, 1 or more")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{86400} * 365 * 100))
      ->capture_default_str();
  app.add_option("--time", issued_at, "issue time, unix seconds (default: now)");
  app.add_option("--verify", verify_sig, "check this UserSig instead of generating one");
  CLI11_PARSE(app, argc, argv);

  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (!verify_sig.empty()) {
    auto verdict = chatd::usersig::verify(verify_sig, {sdkappid, user, key}, now);
    std::cout << chatd::code_number(verdict.code) << ' ' << chatd::message_of(verdict.code) << '\n';
    return verdict.code == chatd::errc::ok ? 0 : 1;
  }
  chatd::usersig::sig_request request;
  request.key = key;
  request.sdkappid = sdkappid;
  request.identifier = user;
  request.expire = expire;
  request.time = issued_at != 0 ? issued_at : now;
  std::cout << chatd::usersig::generate(request) << '\n';
  return 0;
}
