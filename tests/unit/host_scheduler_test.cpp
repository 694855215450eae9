// The actors on the host's threads (actor_scheduler = "io"): they run on the
// io_context, a login's reply comes back on it, and the service shuts down
// cleanly even after the io_context has stopped running.
#include <doctest/doctest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <future>
#include <set>
#include <thread>

#include "actors/session_service.hpp"
#include "gateway/io_actor_executor.hpp"

using namespace chatd;
using namespace std::chrono_literals;

namespace {

struct counting_sink : instance_sink {
  std::atomic<int> kicks{0};
  std::atomic<int> losses{0};
  void kicked(const kick_notice&) override { ++kicks; }
  void lost() override { ++losses; }
  void message(const timeline_entry&) override {}
};

login_order order_for(const std::string& user, std::shared_ptr<instance_sink> sink) {
  login_order order;
  order.sdkappid = 1400000000;
  order.user_id = user;
  order.limits = {multi_device_policy::dual, 1, 1};
  order.sig_expires_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count() +
                            3600'000;
  order.sink = std::move(sink);
  return order;
}

}  // namespace

TEST_CASE("actors on io threads: logins answered on those threads, kicks applied, clean shutdown") {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&io] { io.run(); });
  std::set<std::thread::id> io_ids;
  for (auto& t : threads)
    io_ids.insert(t.get_id());

  io_actor_executor executor(io);
  auto sinks = std::vector<std::shared_ptr<counting_sink>>();
  {
    service_options options;
    options.executor = &executor;
    session_service service(options);
    std::atomic<int> granted{0};
    std::atomic<int> off_thread{0};
    constexpr int users = 200;
    constexpr int per_user = 3;  // limit 1: two kicks per user
    for (int u = 0; u < users; ++u) {
      for (int i = 0; i < per_user; ++i) {
        sinks.push_back(std::make_shared<counting_sink>());
        service.login(order_for("host-" + std::to_string(u), sinks.back()),
                      reply<login_grant>::to([&, ids = &io_ids](outcome<login_grant> g) {
                        granted += g.ok() && g.value.code == errc::ok;
                        off_thread += ids->count(std::this_thread::get_id()) == 0;
                      }));
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    auto kicks = [&] {
      int n = 0;
      for (auto& s : sinks)
        n += s->kicks;
      return n;
    };
    while ((granted < users * per_user || kicks() < users * (per_user - 1)) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    CHECK(granted == users * per_user);
    CHECK(kicks() == users * (per_user - 1));
    CHECK(off_thread == 0);
    // The host stops running posted work before the service goes away.
    work.reset();
    io.stop();
    for (auto& t : threads)
      t.join();
  }  // must not hang: the service finishes its actors on a thread of its own
  int losses = 0;
  for (auto& s : sinks)
    losses += s->losses;
  CHECK(losses == 200);  // the survivors learn at shutdown that they are gone
}
