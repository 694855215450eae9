#include "message_mode.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "message_link.hpp"

namespace chatd::loadgen {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// After sending: how long answers and deliveries may still take.
constexpr auto drain_limit = 10s;

enum class phase : std::uint8_t { receivers, senders, sending, draining, done };

struct peer {
  std::string name;
  std::shared_ptr<message_link> link;
  bool ready = false;
  std::vector<std::uint64_t> received;  // receivers: seqs in arrival order
};

struct in_flight_send {
  clock_type::time_point sent;
  std::size_t receiver = 0;
};

struct run_state {
  asio::io_context& io;
  const settings& s;
  report& r;
  std::function<std::string(const std::string&)> sig_for;
  const std::function<void(const json::object&)>& progress;
  cycle_target target;
  std::vector<peer> receivers;
  std::vector<peer> senders;
  std::vector<std::vector<std::uint64_t>> acked;                // per receiver: the seqs answered
  std::unordered_map<std::uint64_t, in_flight_send> in_flight;  // by op seq
  std::uint64_t next_op = 1;
  std::size_t next_sender = 0;
  int settled = 0;  // logins answered in the current phase
  phase now = phase::receivers;
  clock_type::time_point epoch = clock_type::now();
  clock_type::time_point phase_started = clock_type::now();
  clock_type::time_point last_report = clock_type::now();
  clock_type::time_point last_tick = clock_type::now();
  double budget = 0;
  asio::steady_timer tick{io};
};

std::string login_data(run_state& st, const std::string& user) {
  return json::serialize(
      json::object{{"SDKAppID", st.s.sdkappid}, {"userID", user}, {"userSig", st.sig_for(user)}});
}

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// "m-<microseconds since the run's epoch>": the receiver's latency clock.
void on_received(run_state& st, std::size_t receiver, std::string_view text, std::uint64_t seq) {
  st.receivers[receiver].received.push_back(seq);
  ++st.r.messages_received;
  if (text.starts_with("m-")) {
    const auto sent_us = std::strtoll(std::string(text.substr(2)).c_str(), nullptr, 10);
    const auto sent = st.epoch + std::chrono::microseconds(sent_us);
    st.r.message_latency_ms.push_back(ms_between(sent, clock_type::now()));
  }
}

void on_answered(run_state& st, std::uint64_t op, int code, std::uint64_t seq) {
  auto it = st.in_flight.find(op);
  if (it == st.in_flight.end())
    return;
  if (code == 0) {
    ++st.r.messages_acked;
    st.acked[it->second.receiver].push_back(seq);
    st.r.answer_latency_ms.push_back(ms_between(it->second.sent, clock_type::now()));
  } else {
    ++st.r.failures[code];
  }
  st.in_flight.erase(it);
}

void open_peer(run_state& st, std::vector<peer>& group, std::size_t index, bool receiving) {
  message_link_handlers h;
  h.logged_in = [&st, &group, index](int code) {
    ++st.settled;
    if (code == 0) {
      group[index].ready = true;
      ++st.r.logins_ok;
    } else {
      ++st.r.failures[code];
    }
  };
  h.answered = [&st](std::uint64_t op, int code, std::uint64_t seq) {
    on_answered(st, op, code, seq);
  };
  h.received = [&st, index, receiving](std::string_view text, std::uint64_t seq) {
    if (receiving)
      on_received(st, index, text, seq);
  };
  h.lost = [] {};
  ++st.r.attempts;
  group[index].link = open_message_link(st.io, st.target, login_data(st, group[index].name), h);
}

void send_one(run_state& st) {
  const auto count = st.senders.size();
  for (std::size_t tries = 0; tries < count; ++tries) {
    const auto index = st.next_sender++ % count;
    auto& sender = st.senders[index];
    if (!sender.ready)
      continue;
    const auto receiver = index % st.receivers.size();
    const auto op = st.next_op++;
    const auto now = clock_type::now();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - st.epoch).count();
    st.in_flight.emplace(op, in_flight_send{now, receiver});
    send_message(*sender.link, op, st.receivers[receiver].name, "m-" + std::to_string(us));
    ++st.r.messages_sent;
    return;
  }
}

bool everything_received(const run_state& st) {
  std::int64_t acked = 0;
  for (const auto& a : st.acked)
    acked += static_cast<std::int64_t>(a.size());
  return st.r.messages_received >= acked;
}

// Every acknowledged message reached its receiver once, in seq order.
void audit(run_state& st) {
  for (std::size_t i = 0; i < st.receivers.size(); ++i) {
    const auto& got = st.receivers[i].received;
    std::unordered_set<std::uint64_t> seen;
    for (std::size_t k = 0; k < got.size(); ++k) {
      if (!seen.insert(got[k]).second)
        ++st.r.message_duplicates;
      else if (k > 0 && got[k] < got[k - 1])
        ++st.r.message_out_of_order;
    }
    for (auto seq : st.acked[i])
      st.r.message_missing += seen.count(seq) == 0;
    ++st.r.audit_sampled;
  }
  st.r.audit_violations =
      st.r.message_missing + st.r.message_duplicates + st.r.message_out_of_order;
  st.r.audit_source = "messages";
}

void report_progress(run_state& st, std::string_view name) {
  if (clock_type::now() - st.last_report < 1s)
    return;
  st.last_report = clock_type::now();
  std::int64_t failed = 0;
  for (const auto& [code, n] : st.r.failures)
    failed += n;
  st.progress({{"phase", name},
               {"attempts", st.r.messages_sent},
               {"ok", st.r.messages_acked},
               {"failed", failed},
               {"held", st.r.messages_received},
               {"kicks", 0}});
}

void enter(run_state& st, phase next) {
  st.now = next;
  st.phase_started = clock_type::now();
  st.settled = 0;
}

void finish(run_state& st) {
  audit(st);
  for (auto* group : {&st.senders, &st.receivers})
    for (auto& p : *group)
      if (p.link)
        close_link(*p.link);
  enter(st, phase::done);
}

void on_tick(run_state& st) {
  switch (st.now) {
    case phase::receivers:
      if (st.settled == static_cast<int>(st.receivers.size())) {
        enter(st, phase::senders);
        for (std::size_t i = 0; i < st.senders.size(); ++i)
          open_peer(st, st.senders, i, false);
      }
      break;
    case phase::senders:
      if (st.settled == static_cast<int>(st.senders.size())) {
        enter(st, phase::sending);
        st.last_tick = clock_type::now();
        st.r.ramp_s = std::chrono::duration<double>(clock_type::now() - st.epoch).count();
      }
      break;
    case phase::sending: {
      // Sends owed for the time that passed (a tick may come late), but no
      // more than 10 ms worth at once after a stall.
      const auto now = clock_type::now();
      const double per_s = st.s.rate / st.s.workers;
      st.budget =
          std::min(st.budget + per_s * std::chrono::duration<double>(now - st.last_tick).count(),
                   per_s / 100.0);
      st.last_tick = now;
      for (; st.budget >= 1 && static_cast<int>(st.in_flight.size()) < st.s.max_in_flight;
           st.budget -= 1)
        send_one(st);
      report_progress(st, "message");
      if (clock_type::now() - st.phase_started >= st.s.duration) {
        st.r.send_s = std::chrono::duration<double>(clock_type::now() - st.phase_started).count();
        enter(st, phase::draining);
      }
      break;
    }
    case phase::draining:
      if ((st.in_flight.empty() && everything_received(st)) ||
          clock_type::now() - st.phase_started > drain_limit) {
        if (!st.in_flight.empty())
          st.r.notes.push_back(std::to_string(st.in_flight.size()) + " sends never answered");
        finish(st);
      }
      break;
    case phase::done:
      return;
  }
  // 1 ms ticks: sends go out evenly, not in bursts that would show up as
  // latency of the server.
  st.tick.expires_after(1ms);
  st.tick.async_wait([&st](const boost::system::error_code& ec) {
    if (!ec)
      on_tick(st);
  });
}

}  // namespace

void run_message_mode(asio::io_context& io, const settings& s,
                      const std::function<std::string(const std::string&)>& sig_for,
                      const std::function<void(const json::object&)>& progress, report& r) {
  run_state st{io, s, r, sig_for, progress, target_of(s.url)};
  // This worker's users: the first half send, the second half receive.
  std::vector<std::string> mine;
  for (int u = s.worker_index; u < s.users; u += s.workers)
    mine.push_back(s.user_prefix + "-" + std::to_string(u));
  const auto half = std::max<std::size_t>(1, mine.size() / 2);
  if (mine.size() < 2)
    throw std::runtime_error("message mode needs at least 2 users per worker");
  for (std::size_t i = 0; i < mine.size(); ++i)
    (i < half ? st.senders : st.receivers).push_back(peer{mine[i], nullptr, false, {}});
  st.acked.resize(st.receivers.size());
  for (std::size_t i = 0; i < st.receivers.size(); ++i)
    open_peer(st, st.receivers, i, true);
  on_tick(st);
  io.run();
  r.elapsed_s = std::chrono::duration<double>(clock_type::now() - st.epoch).count();
}

}  // namespace chatd::loadgen
