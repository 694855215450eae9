// Metrics move exactly once per event, recorded where the event happens.
#include <doctest/doctest.h>

#include <future>
#include <thread>

#include "actors/session_service.hpp"
#include "metrics/metrics.hpp"

using namespace chatd;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t app = 1400000042;
const std::string app_label = std::to_string(app);

struct null_sink : instance_sink {
  void kicked(const kick_notice&) override {}
  void lost() override {}
  void message(const timeline_entry&) override {}
};

login_grant login(session_service& service, const std::string& user, platform p,
                  login_limits limits) {
  login_order order;
  order.sdkappid = app;
  order.user_id = user;
  order.platform = p;
  order.limits = limits;
  order.sig_expires_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count() +
                            3600'000;
  order.sink = std::make_shared<null_sink>();
  auto done = std::make_shared<std::promise<login_grant>>();
  auto result = done->get_future();
  service.login(std::move(order), reply<login_grant>::to([done](outcome<login_grant> g) {
                  done->set_value(std::move(g.value));
                }));
  return result.get();
}

double kicks(std::string_view type) {
  return metrics::value_of("chatd_kicks_total", {{"app", app_label}, {"type", std::string(type)}});
}

double online(std::string_view p) {
  return metrics::value_of("chatd_online_instances",
                           {{"app", app_label}, {"platform", std::string(p)}});
}

template <class Predicate>
bool eventually(Predicate p) {
  for (int i = 0; i < 1000 && !p(); ++i)
    std::this_thread::sleep_for(2ms);
  return p();
}

}  // namespace

TEST_CASE("a kick counts once per kicked instance, by type, and online instances follow") {
  metrics::register_apps({app});
  session_service service(service_options{.scheduler_threads = 2});
  const login_limits limits{multi_device_policy::dual, 2, 1};
  const double account0 = kicks("multipleAccount");
  const double device0 = kicks("multipleDevice");
  const double web0 = online("Web");

  for (int i = 0; i < 5; ++i)
    login(service, "metric-user", platform::web, limits);
  // Five web logins with a limit of 2: three kicks, two online.
  CHECK(eventually([&] { return kicks("multipleAccount") - account0 == 3; }));
  CHECK(online("Web") - web0 == 2);

  login(service, "metric-user", platform::android, limits);
  login(service, "metric-user", platform::iphone, limits);  // kicks the Android
  CHECK(eventually([&] { return kicks("multipleDevice") - device0 == 1; }));
  CHECK(online("Android") == 0);
  CHECK(online("iPhone") == 1);

  auto done = std::make_shared<std::promise<std::size_t>>();
  auto kicked = done->get_future();
  service.kick_user(
      app, "metric-user", kick_type::rest_api,
      reply<std::size_t>::to([done](outcome<std::size_t> n) { done->set_value(n.value); }));
  CHECK(kicked.get() == 3);
  CHECK(kicks("REST_API_Kick") >= 3);
  CHECK(online("Web") - web0 == 0);
  CHECK(online("iPhone") == 0);
  std::this_thread::sleep_for(50ms);
  CHECK(kicks("multipleAccount") - account0 == 3);  // nothing counted twice
}

TEST_CASE("login results count by app and code, and unknown apps share one label") {
  metrics::register_apps({app});
  const auto ok0 = metrics::value_of("chatd_logins_total", {{"app", app_label}, {"code", "0"}});
  metrics::login_finished(app, errc::ok, 2ms);
  metrics::login_finished(app, errc::ok, 3ms);
  metrics::login_finished(987654, errc::sdkappid_not_found, 1ms);
  metrics::login_finished(987655, errc::sdkappid_not_found, 1ms);
  CHECK(metrics::value_of("chatd_logins_total", {{"app", app_label}, {"code", "0"}}) - ok0 == 2);
  CHECK(metrics::value_of("chatd_logins_total", {{"app", "other"}, {"code", "70020"}}) >= 2);
  CHECK(metrics::value_of("chatd_logins_total", {{"app", "987654"}, {"code", "70020"}}) == 0);
  CHECK(metrics::value_of("chatd_login_duration_seconds", {{"result", "ok"}}) >= 2);
}
