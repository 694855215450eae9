#include "worker.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <map>
#include <memory>
#include <unordered_map>

#include "chatd/client.hpp"
#include "churn_cycle.hpp"
#include "message_mode.hpp"
#include "protocol/usersig.hpp"
#include "rest_client.hpp"

// GCC 12 miscompiles lambdas that capture inside coroutine bodies and class
// temporaries in co_await expressions: coroutines here take plain pointers
// and indexes, and callbacks are attached from plain functions.
namespace chatd::loadgen {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Churn: a login that succeeded but whose cycle did not finish (logout,
// destroy, close), counted under this code among the failures.
constexpr int incomplete_cycle = -2;

struct slot {
  int user = 0;
  std::string platform;
  std::unique_ptr<chatd::client> client;
  clock_type::time_point started;
  bool ready = false;
  bool settled = false;  // the login answered (ok or not)
  bool ok = false;
  bool done = false;  // churn: the cycle finished
};

struct worker {
  const settings& s;
  asio::io_context io{1};
  std::vector<std::unique_ptr<slot>> slots;
  report r;
  clock_type::time_point started = clock_type::now();
  std::int64_t ready_now = 0;
  std::int64_t settled = 0;
  std::int64_t in_flight = 0;
  std::int64_t connections_made = 0;
  std::unordered_map<std::string, clock_type::time_point> ready_at;   // by instance id
  std::unordered_map<std::string, clock_type::time_point> kicked_by;  // kicks that overtook a ready
  std::map<std::uint32_t, std::string> sigs;
  std::unordered_map<int, std::string> churn_login_data;  // by user

  explicit worker(const settings& st) : s(st) { r.mode = s.mode; }

  std::string user_name(int user) const { return s.user_prefix + "-" + std::to_string(user); }

  std::string platform_for(int user, int instance) const {
    int total = 0;
    for (const auto& [name, weight] : s.platform_mix)
      total += weight;
    int pick = static_cast<int>(
        (static_cast<std::uint64_t>(user) * 2654435761u + instance * 40503u) % total);
    for (const auto& [name, weight] : s.platform_mix) {
      if (pick < weight)
        return name;
      pick -= weight;
    }
    return "Web";
  }

  client_options options_for() {
    client_options o;
    o.url = s.url;
    o.reconnect = false;  // a load test reports losses, it does not hide them
    if (s.source_ips > 0)
      o.local_address = "127.0.0." + std::to_string(2 + (connections_made % s.source_ips));
    ++connections_made;
    return o;
  }

  std::string sig_for(const std::string& user) const {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return usersig::generate({s.key, s.sdkappid, user, 86400, now, {}});
  }
};

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

void attach(worker& w, slot& sl) {
  sl.client->on_ready = [&w, &sl](const std::string& instance) {
    sl.ready = true;
    ++w.ready_now;
    w.r.held_peak = std::max(w.r.held_peak, w.ready_now);
    w.r.login_latency_ms.push_back(ms_since(sl.started));
    w.ready_at[instance] = clock_type::now();
    // A kick this instance caused arrived first: its latency is negative.
    if (auto it = w.kicked_by.find(instance); it != w.kicked_by.end()) {
      w.r.kick_latency_ms.push_back(-ms_since(it->second));
      w.kicked_by.erase(it);
    }
  };
  sl.client->on_not_ready = [&w, &sl](int) {
    if (std::exchange(sl.ready, false))
      --w.ready_now;
  };
  sl.client->on_kicked_out = [&w](const std::string& type, const std::optional<kicked_by>& by) {
    ++w.r.kicks[type];
    if (!by)
      return;
    auto it = w.ready_at.find(by->instance_id);
    if (it != w.ready_at.end())
      w.r.kick_latency_ms.push_back(ms_since(it->second));
    else
      w.kicked_by[by->instance_id] = clock_type::now();  // measured at its ready
  };
}

asio::awaitable<void> login_one(worker* w, slot* sl) {
  const login_params params{w->s.sdkappid, w->user_name(sl->user),
                            w->sig_for(w->user_name(sl->user)), sl->platform};
  ++w->r.attempts;
  const auto result = co_await sl->client->login(params);
  sl->settled = true;
  ++w->settled;
  sl->ok = result.code == 0;
  if (result.code == 0)
    ++w->r.logins_ok;
  else
    ++w->r.failures[result.code];
}

slot& new_slot(worker& w, int user, int instance) {
  auto sl = std::make_unique<slot>();
  sl->user = user;
  sl->platform = w.platform_for(user, instance);
  sl->client = std::make_unique<chatd::client>(w.io.get_executor(), w.options_for());
  sl->started = clock_type::now();
  attach(w, *sl);
  w.slots.push_back(std::move(sl));
  return *w.slots.back();
}

// This worker's users: every workers-th one.
std::vector<int> my_users(const settings& s) {
  std::vector<int> users;
  for (int u = s.worker_index; u < s.users; u += s.workers)
    users.push_back(u);
  return users;
}

json::object progress_of(worker& w, std::string_view phase) {
  std::int64_t failed = 0;
  for (const auto& [code, n] : w.r.failures)
    failed += n;
  std::int64_t kicks = 0;
  for (const auto& [type, n] : w.r.kicks)
    kicks += n;
  return {{"phase", phase},   {"attempts", w.r.attempts}, {"ok", w.r.logins_ok},
          {"failed", failed}, {"held", w.ready_now},      {"kicks", kicks}};
}

asio::awaitable<void> sleep_ms(worker* w, std::int64_t ms) {
  asio::steady_timer t(w->io, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

// Launches logins at the worker's share of the rate, instance-major so that
// a user's instances are spread over the ramp (what kick-storm needs).
asio::awaitable<void> ramp(worker* w, const std::function<void(const json::object&)>* progress) {
  const auto users = my_users(w->s);
  const double per_tick = w->s.rate / w->s.workers / 100.0;  // 10 ms ticks
  double budget = 0;
  auto last_report = clock_type::now();
  for (int instance = 0; instance < w->s.instances_per_user; ++instance) {
    for (std::size_t i = 0; i < users.size();) {
      budget += per_tick;
      for (; budget >= 1 && i < users.size(); budget -= 1, ++i)
        asio::co_spawn(w->io, login_one(w, &new_slot(*w, users[i], instance)), asio::detached);
      co_await sleep_ms(w, 10);
      if (clock_type::now() - last_report >= 1s) {
        last_report = clock_type::now();
        (*progress)(progress_of(*w, "ramp"));
      }
    }
  }
  while (w->settled < static_cast<std::int64_t>(w->slots.size()))
    co_await sleep_ms(w, 10);
  w->r.ramp_s = std::chrono::duration<double>(clock_type::now() - w->started).count();
}

asio::awaitable<void> hold(worker* w, const std::function<void(const json::object&)>* progress) {
  const auto until = clock_type::now() + w->s.hold;
  while (clock_type::now() < until) {
    co_await sleep_ms(w, 1000);
    (*progress)(progress_of(*w, "hold"));
  }
}

// One user's login data, its UserSig made once per user (as a real client
// keeps its sig): the cycle then costs what a login costs, not a signature.
const std::string& login_data_for(worker& w, int user) {
  auto it = w.churn_login_data.find(user);
  if (it == w.churn_login_data.end()) {
    const auto name = w.user_name(user);
    json::object data{{"SDKAppID", w.s.sdkappid},
                      {"userID", name},
                      {"userSig", w.sig_for(name)},
                      {"platform", w.platform_for(user, 0)}};
    it = w.churn_login_data.emplace(user, json::serialize(data)).first;
  }
  return it->second;
}

void start_cycle(worker& w, const cycle_target& base, int user) {
  ++w.in_flight;
  ++w.r.attempts;
  auto target = base;
  if (w.s.source_ips > 0)
    target.local = asio::ip::make_address(
        "127.0.0." + std::to_string(2 + (w.connections_made % w.s.source_ips)));
  ++w.connections_made;
  start_churn_cycle(w.io, std::move(target), login_data_for(w, user), [&w](const cycle_result& r) {
    --w.in_flight;
    if (r.code != 0) {
      ++w.r.failures[r.code];
      return;
    }
    ++w.r.logins_ok;
    w.r.login_latency_ms.push_back(r.ready_ms);
    if (!r.completed)
      ++w.r.failures[incomplete_cycle];
  });
}

asio::awaitable<void> churn(worker* w, const std::function<void(const json::object&)>* progress) {
  const auto users = my_users(w->s);
  const auto target = target_of(w->s.url);
  const double per_tick = w->s.rate / w->s.workers / 100.0;
  const auto until = clock_type::now() + w->s.duration;
  double budget = 0;
  std::size_t next = 0;
  auto last_report = clock_type::now();
  while (clock_type::now() < until) {
    budget += per_tick;
    for (; budget >= 1 && w->in_flight < w->s.max_in_flight; budget -= 1)
      start_cycle(*w, target, users[next++ % users.size()]);
    budget = std::min(budget, per_tick * 10);  // no burst after a stall
    co_await sleep_ms(w, 10);
    if (clock_type::now() - last_report >= 1s) {
      last_report = clock_type::now();
      (*progress)(progress_of(*w, "churn"));
    }
  }
  while (w->in_flight > 0)
    co_await sleep_ms(w, 10);
  w->r.ramp_s = std::chrono::duration<double>(w->s.duration).count();
}

// The server's view of sampled users: no platform over its limit.
void audit(worker& w) {
  const auto users = my_users(w.s);
  const std::size_t sample = std::min<std::size_t>(
      users.size(), static_cast<std::size_t>(std::max(0, w.s.audit_sample / w.s.workers + 1)));
  auto url = boost::urls::parse_uri(w.s.url);
  const admin_identity who{"http://" + std::string(url->host()) + ":" + std::string(url->port()),
                           w.s.sdkappid, w.s.admin, w.s.key};
  try {
    const auto config = json::parse(rest_post(who, "chatd_admin/get_login_config", {})).as_object();
    if (config.at("ErrorCode").to_number<int>() != 0)
      throw std::runtime_error("get_login_config refused");
    const int web_limit = config.at("MaxWebInstances").to_number<int>();
    const int device_limit = config.at("MaxDevicesPerPlatform").to_number<int>();
    json::array to;
    for (std::size_t i = 0; i < sample; ++i)
      to.emplace_back(w.user_name(users[i * users.size() / sample]));
    const auto answer = json::parse(rest_post(who, "openim/query_online_status",
                                              {{"To_Account", to}, {"IsNeedDetail", 1}}))
                            .as_object();
    for (const auto& result : answer.at("QueryResult").as_array()) {
      std::map<std::string, int> per_platform;
      for (const auto& d : result.at("Detail").as_array())
        ++per_platform[json::value_to<std::string>(d.at("Platform"))];
      for (const auto& [platform, n] : per_platform)
        w.r.audit_violations += n > (platform == "Web" ? web_limit : device_limit);
      ++w.r.audit_sampled;
    }
    w.r.audit_source = "rest";
  } catch (const std::exception& e) {
    // No admin REST: judge from what the clients saw (ready at the end).
    w.r.notes.push_back(std::string("audit from clients: ") + e.what());
    std::map<std::pair<int, std::string>, int> ready;
    for (const auto& sl : w.slots)
      ready[{sl->user, sl->platform}] += sl->ready;
    for (const auto& [key, n] : ready)
      w.r.audit_violations += n > 1 && w.s.instances_per_user == 1;
    w.r.audit_sampled = static_cast<std::int64_t>(sample);
    w.r.audit_source = "clients";
  }
}

asio::awaitable<void> teardown(worker* w) {
  for (auto& sl : w->slots)
    sl->client.reset();  // closes the sockets; chatd takes the instances offline
  co_return;
}

asio::awaitable<void> run(worker* w, const std::function<void(const json::object&)>* progress) {
  if (w->s.mode == "churn") {
    co_await churn(w, progress);
    w->r.audit_source = "n/a (churn)";
  } else {
    co_await ramp(w, progress);
    co_await hold(w, progress);
    audit(*w);
    co_await teardown(w);
  }
  w->r.elapsed_s = std::chrono::duration<double>(clock_type::now() - w->started).count();
}

}  // namespace

report run_worker(const settings& s, const std::function<void(const json::object&)>& progress) {
  worker w(s);
  if (s.mode == "message") {
    run_message_mode(
        w.io, s, [&w](const std::string& user) { return w.sig_for(user); }, progress, w.r);
    return w.r;
  }
  asio::co_spawn(w.io, run(&w, &progress), [](std::exception_ptr e) {
    if (e)
      std::rethrow_exception(e);
  });
  w.io.run();
  for (const auto& [code, n] : w.r.failures)
    if (code == code_network_error)
      w.r.notes.push_back(
          "connections failed (2800): check the open-file limit (ulimit -n) and source ports; "
          "use --workers and --source-ips to go further");
  return w.r;
}

}  // namespace chatd::loadgen
