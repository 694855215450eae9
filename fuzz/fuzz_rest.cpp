// The admin REST API from the request target and body to the answer, on a
// whole chatd in this process (actors, stores in a temporary folder):
// routing, query parsing, admin authentication, and every command's body
// checks and effects (imports, kicks, sends, history reads, live config).
//
// An input is "TARGET\nBODY". In TARGET, "@AUTH@" becomes a valid admin
// query (sdkappid, identifier, a fresh UserSig), so that the fuzzer reaches
// the commands behind the authentication as well as the authentication.
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <string>
#include <thread>

#include "actors/session_service.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/rest_api.hpp"
#include "metrics/metrics.hpp"
#include "protocol/usersig.hpp"
#include "server/app_catalog.hpp"
#include "server/backend.hpp"
#include "store/message_store.hpp"
#include "store/state_store.hpp"

namespace {

using namespace chatd;

constexpr std::uint32_t app_id = 1400000000;
constexpr char app_key[] = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

app_config fuzzed_app() {
  app_config app;
  app.sdkappid = app_id;
  app.secret_key = app_key;
  app.admin = "administrator";
  return app;
}

// Lives for the whole run, as a server does between requests.
struct server_under_fuzz {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("chatd-fuzz-rest-" + std::to_string(::getpid()));
  std::unique_ptr<state_store> store =
      (std::filesystem::create_directories(dir), open_sqlite_store(dir));
  app_catalog apps{std::vector<app_config>{fuzzed_app()}};
  lockout_config lock_rules;
  server_backend backend{apps, {fuzzed_app()}, *store, lock_rules};
  session_service sessions{service_options{.scheduler_threads = 1}};
  std::unique_ptr<message_store> timelines = open_sqlite_message_store(dir);
  std::shared_ptr<gateway_context> context{
      new gateway_context{gateway_settings{}, sessions, backend, *timelines}};
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(io);
  std::thread io_thread{[this] { io.run(); }};

  server_under_fuzz() {
    spdlog::set_level(spdlog::level::off);  // a log line per call would be most of the work
    metrics::register_apps({app_id});
    declare_rest_metrics();
  }

  // A UserSig of the admin, valid for a day from the start of the run.
  const std::string admin_query = [] {
    usersig::sig_request sig;
    sig.key = app_key;
    sig.sdkappid = app_id;
    sig.identifier = "administrator";
    sig.time = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return "sdkappid=" + std::to_string(app_id) +
           "&identifier=administrator&usersig=" + usersig::generate(sig) +
           "&random=1&contenttype=json";
  }();

  std::string call(std::string target, std::string body) {
    return boost::asio::co_spawn(io, handle_rest(context, std::move(target), std::move(body)),
                                 boost::asio::use_future)
        .get();
  }
};

server_under_fuzz& server() {
  static auto* s = new server_under_fuzz();  // never destroyed: threads run to the end
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  std::string target(input.substr(0, newline));
  const std::string body(newline == std::string_view::npos ? "" : input.substr(newline + 1));
  auto& s = server();
  if (const auto at = target.find("@AUTH@"); at != std::string::npos)
    target.replace(at, 6, s.admin_query);
  (void)s.call(std::move(target), body);
  // Each input starts from the configured app: a set_login_config (an
  // expired package, say) must not shut the API for every later input.
  s.apps.replace(fuzzed_app());
  return 0;
}
