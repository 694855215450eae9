// The actor layer through its facade: registries, sessions, directory.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "actors/session_service.hpp"
#include "actors/testing.hpp"

using namespace chatd;
using namespace std::chrono_literals;

namespace {

// Records what reaches one instance; thread-safe like the real sink.
struct recording_sink : instance_sink {
  std::mutex mutex;
  std::vector<kick_notice> kicks;
  std::vector<std::uint64_t> seqs;  // timeline entries received
  std::atomic<int> losses{0};

  void kicked(const kick_notice& notice) override {
    std::lock_guard lock(mutex);
    kicks.push_back(notice);
  }
  void lost() override { ++losses; }
  void message(const timeline_entry& entry) override {
    std::lock_guard lock(mutex);
    seqs.push_back(entry.seq);
  }
  std::vector<std::uint64_t> received() {
    std::lock_guard lock(mutex);
    return seqs;
  }
  std::size_t kick_count() {
    std::lock_guard lock(mutex);
    return kicks.size();
  }
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

login_order order_for(std::string user, platform p, login_limits limits,
                      std::shared_ptr<instance_sink> sink, std::int64_t expires_at = 0) {
  login_order order;
  order.sdkappid = 1400000000;
  order.user_id = std::move(user);
  order.platform = p;
  order.limits = limits;
  order.sig_expires_at_ms = expires_at != 0 ? expires_at : now_ms() + 3600'000;
  order.sink = std::move(sink);
  return order;
}

// Blocks the test thread until the callback runs. The promise is shared with
// the callback: set_value may still be running when get() returns.
template <class T, class Start>
T wait_for_callback(Start start) {
  auto done = std::make_shared<std::promise<T>>();
  auto result = done->get_future();
  start(reply<T>::to([done](outcome<T> answer) { done->set_value(std::move(answer.value)); }));
  return result.get();
}

login_grant login_now(session_service& service, login_order order) {
  return wait_for_callback<login_grant>(
      [&](auto done) { service.login(std::move(order), std::move(done)); });
}

// An answer that never came (the registry is gone) reads as 70500.
errc logout_now(session_service& service, const session_handle& session) {
  auto done = std::make_shared<std::promise<errc>>();
  auto result = done->get_future();
  service.logout(session, reply<errc>::to([done](outcome<errc> answer) {
                   done->set_value(answer.ok() ? answer.value : errc::internal_error);
                 }));
  return result.get();
}

std::vector<online_instance> online_now(session_service& service, const std::string& user) {
  return wait_for_callback<std::vector<online_instance>>(
      [&](auto done) { service.online_instances(1400000000, user, std::move(done)); });
}

template <class Predicate>
bool eventually(Predicate p, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p())
      return true;
    std::this_thread::sleep_for(2ms);
  }
  return p();
}

const login_limits web_only_one{multi_device_policy::dual, 1, 1};

}  // namespace

// Under TSan every actor message costs ~100x: the same test with fewer users.
#ifdef __SANITIZE_THREAD__
constexpr int many_users = 500;
#else
constexpr int many_users = 10000;
#endif

TEST_CASE("10,000 users logging in and out leave no actor behind") {
  session_service service(service_options{.scheduler_threads = 2});
  const auto baseline = service.running_actors();
  std::vector<session_handle> sessions;
  sessions.reserve(many_users);
  for (int i = 0; i < many_users; ++i) {
    auto grant = login_now(service, order_for("user" + std::to_string(i), platform::web,
                                              web_only_one, std::make_shared<recording_sink>()));
    REQUIRE(grant.code == errc::ok);
    sessions.push_back(grant.session);
  }
  // A registry and a session per user.
  CHECK(service.running_actors() == baseline + 2 * many_users);
  for (auto& s : sessions)
    REQUIRE(logout_now(service, s) == errc::ok);
  sessions.clear();
  CHECK(eventually([&] { return service.running_actors() == baseline; }));
}

TEST_CASE("a web login over the limit kicks the oldest with multipleAccount, by the newcomer") {
  session_service service(service_options{.scheduler_threads = 2});
  const login_limits limit2{multi_device_policy::dual, 2, 1};
  std::vector<std::shared_ptr<recording_sink>> sinks;
  std::vector<login_grant> grants;
  for (int i = 0; i < 3; ++i) {
    sinks.push_back(std::make_shared<recording_sink>());
    grants.push_back(login_now(service, order_for("alice", platform::web, limit2, sinks.back())));
  }
  REQUIRE(eventually([&] { return sinks[0]->kick_count() == 1; }));
  CHECK(sinks[0]->kicks[0].type == kick_type::multiple_account);
  REQUIRE(sinks[0]->kicks[0].by);
  CHECK(sinks[0]->kicks[0].by->instance_id == grants[2].instance_id);
  CHECK(sinks[1]->kick_count() == 0);
  const auto online = online_now(service, "alice");
  REQUIRE(online.size() == 2);
  CHECK(online[0].instance_id == grants[1].instance_id);
  CHECK(online[1].instance_id == grants[2].instance_id);
  // The kicked instance can no longer log out.
  CHECK(logout_now(service, grants[0].session) == errc::not_logged_in);
}

TEST_CASE("concurrent logins of one user never exceed the limit and kick each loser once") {
  session_service service(service_options{.scheduler_threads = 2});
  const login_limits limit2{multi_device_policy::dual, 2, 1};
  for (int round = 0; round < 50; ++round) {
    const std::string user = "racer" + std::to_string(round);
    std::vector<std::shared_ptr<recording_sink>> sinks(50);
    std::vector<std::thread> threads;
    std::atomic<int> granted{0};
    for (int t = 0; t < 50; ++t) {
      sinks[t] = std::make_shared<recording_sink>();
      service.login(order_for(user, platform::web, limit2, sinks[t]),
                    reply<login_grant>::to([&granted](outcome<login_grant> g) {
                      granted += g.ok() && g.value.code == errc::ok;
                    }));
    }
    REQUIRE(eventually([&] { return granted == 50; }));
    REQUIRE(eventually([&] {
      int kicked = 0;
      for (auto& s : sinks)
        kicked += static_cast<int>(s->kick_count());
      return kicked == 48;
    }));
    CHECK(online_now(service, user).size() == 2);
    for (auto& s : sinks)
      CHECK(s->kick_count() <= 1);
  }
}

TEST_CASE("a session actor that dies is removed and only its instance is lost") {
  session_service service(service_options{.scheduler_threads = 2});
  const login_limits limit3{multi_device_policy::dual, 3, 1};
  auto doomed = std::make_shared<recording_sink>();
  auto survivor = std::make_shared<recording_sink>();
  auto g1 = login_now(service, order_for("bob", platform::web, limit3, doomed));
  auto g2 = login_now(service, order_for("bob", platform::web, limit3, survivor));
  testing::kill_session(g1.session);
  REQUIRE(eventually([&] { return doomed->losses == 1; }));
  REQUIRE(eventually([&] { return online_now(service, "bob").size() == 1; }));
  CHECK(online_now(service, "bob")[0].instance_id == g2.instance_id);
  CHECK(survivor->losses == 0);
  CHECK(survivor->kick_count() == 0);
  CHECK(logout_now(service, g2.session) == errc::ok);
}

TEST_CASE("a registry that crashes takes its instances down, and the user can log in again") {
  session_service service(service_options{.scheduler_threads = 2});
  const login_limits limit3{multi_device_policy::dual, 3, 1};
  auto first = std::make_shared<recording_sink>();
  auto second = std::make_shared<recording_sink>();
  auto g1 = login_now(service, order_for("dana", platform::web, limit3, first));
  login_now(service, order_for("dana", platform::mac, limit3, second));
  testing::kill_registry(g1.session);
  // Both connections learn their instance is gone (sdkStateNotReady 70500).
  REQUIRE(eventually([&] { return first->losses == 1 && second->losses == 1; }));
  // A login goes to a new registry: granted, not left unanswered.
  auto again = std::make_shared<recording_sink>();
  const auto g3 = login_now(service, order_for("dana", platform::web, limit3, again));
  CHECK(g3.code == errc::ok);
  REQUIRE(online_now(service, "dana").size() == 1);
  CHECK(online_now(service, "dana")[0].instance_id == g3.instance_id);
  // A logout through the dead registry is answered (as failed), never left hanging.
  CHECK(logout_now(service, g1.session) != errc::ok);
  CHECK(logout_now(service, g3.session) == errc::ok);
}

TEST_CASE("an instance whose sig expires is kicked with userSigExpired at that instant") {
  session_service service(service_options{.scheduler_threads = 2});
  auto sink = std::make_shared<recording_sink>();
  const auto expires_at = now_ms() + 300;
  login_now(service, order_for("carol", platform::android, web_only_one, sink, expires_at));
  REQUIRE(eventually([&] { return sink->kick_count() == 1; }));
  CHECK(now_ms() >= expires_at);
  CHECK(now_ms() < expires_at + 1000);
  CHECK(sink->kicks[0].type == kick_type::usersig_expired);
  CHECK_FALSE(sink->kicks[0].by);
  CHECK(eventually([&] { return online_now(service, "carol").empty(); }));
}

TEST_CASE("renewing the sig moves the expiry kick") {
  session_service service(service_options{.scheduler_threads = 2});
  auto sink = std::make_shared<recording_sink>();
  auto grant =
      login_now(service, order_for("dave", platform::web, web_only_one, sink, now_ms() + 1000));
  const auto renewed = wait_for_callback<errc>(
      [&](auto done) { service.renew(grant.session, now_ms() + 60'000, std::move(done)); });
  CHECK(renewed == errc::ok);
  std::this_thread::sleep_for(1500ms);
  CHECK(sink->kick_count() == 0);
  CHECK(online_now(service, "dave").size() == 1);
}

TEST_CASE("a REST kick reaches every instance of the user and no one else") {
  session_service service(service_options{.scheduler_threads = 2});
  const login_limits wide{multi_device_policy::multi, 3, 3};
  auto a = std::make_shared<recording_sink>();
  auto b = std::make_shared<recording_sink>();
  auto other = std::make_shared<recording_sink>();
  login_now(service, order_for("erin", platform::web, wide, a));
  login_now(service, order_for("erin", platform::mac, wide, b));
  login_now(service, order_for("frank", platform::web, wide, other));
  std::promise<std::size_t> kicked;
  service.kick_user(
      1400000000, "erin", kick_type::rest_api,
      reply<std::size_t>::to([&](outcome<std::size_t> n) { kicked.set_value(n.value); }));
  CHECK(kicked.get_future().get() == 2);
  REQUIRE(eventually([&] { return a->kick_count() == 1 && b->kick_count() == 1; }));
  CHECK(a->kicks[0].type == kick_type::rest_api);
  CHECK(other->kick_count() == 0);
  CHECK(online_now(service, "erin").empty());
  CHECK(online_now(service, "frank").size() == 1);
}

TEST_CASE(
    "a timeline entry reaches every online instance of its owner but the excluded one, in order") {
  session_service service(service_options{.scheduler_threads = 2});
  const login_limits three_web{multi_device_policy::dual, 3, 1};
  auto a = std::make_shared<recording_sink>();
  auto b = std::make_shared<recording_sink>();
  auto other_user = std::make_shared<recording_sink>();
  auto first = login_now(service, order_for("bob", platform::web, three_web, a));
  auto second = login_now(service, order_for("bob", platform::web, three_web, b));
  login_now(service, order_for("carol", platform::web, three_web, other_user));
  REQUIRE(first.code == errc::ok);
  REQUIRE(second.code == errc::ok);

  auto message = std::make_shared<chat_message>();
  message->sdkappid = 1400000000;
  message->from = "alice";
  message->to = "bob";
  for (std::uint64_t seq = 1; seq <= 100; ++seq)
    service.deliver(timeline_entry{seq, message_flow::in, message},
                    seq % 2 == 0 ? second.instance_id : "");
  // An entry for a user with no registry is dropped, not an error.
  message->to = "nobody";
  service.deliver(timeline_entry{1, message_flow::in, message}, "");

  REQUIRE(eventually([&] { return a->received().size() == 100; }));
  REQUIRE(eventually([&] { return b->received().size() == 50; }));
  const auto at_a = a->received();
  for (std::size_t i = 0; i < at_a.size(); ++i)
    CHECK(at_a[i] == i + 1);
  for (auto seq : b->received())
    CHECK(seq % 2 == 1);
  CHECK(other_user->received().empty());

  // A kicked instance gets nothing more.
  service.kick_user(1400000000, "bob", kick_type::rest_api, reply<std::size_t>::ignored());
  REQUIRE(eventually([&] { return a->kick_count() == 1; }));
  message->to = "bob";
  service.deliver(timeline_entry{101, message_flow::in, message}, "");
  std::this_thread::sleep_for(50ms);
  CHECK(a->received().size() == 100);
}
