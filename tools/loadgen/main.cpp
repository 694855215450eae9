// chat-loadgen: simulated logins against any chatd, measured.
//
//   chat-loadgen --url ws://127.0.0.1:8080/v1/ws --sdkappid 1400000000 --key KEY
//     --users 20000 --instances-per-user 1 --platform-mix Web:70,Android:20,iPhone:10
//     --rate 5000/s --hold 60s --workers 2 --source-ips 8 --json report.json
//
// The parent spawns --workers processes of itself (each under the per-process
// open-file limit), shows live progress, and merges their reports.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "report.hpp"
#include "worker.hpp"

namespace {

namespace json = boost::json;
using namespace chatd::loadgen;

std::vector<std::pair<std::string, int>> parse_mix(const std::string& text) {
  std::vector<std::pair<std::string, int>> mix;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto colon = item.find(':');
    if (colon == std::string::npos)
      throw CLI::ValidationError("--platform-mix", "expected Platform:weight,...");
    mix.emplace_back(item.substr(0, colon), std::stoi(item.substr(colon + 1)));
  }
  return mix;
}

double parse_rate(std::string text) {
  if (text.ends_with("/s"))
    text.resize(text.size() - 2);
  return std::stod(text);
}

std::chrono::seconds parse_seconds(std::string text) {
  if (text.ends_with("s"))
    text.pop_back();
  return std::chrono::seconds(std::stoll(text));
}

// Raises the soft open-file limit to the hard one and says what it is.
std::string raise_file_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  return std::to_string(limit.rlim_cur);
}

// One worker child: its stdout carries JSON lines (progress, then the report).
struct child {
  pid_t pid = 0;
  FILE* out = nullptr;
  json::object last_progress;
  std::optional<report> final_report;
};

child spawn_worker(const std::vector<std::string>& args, int index, int count) {
  int fds[2];
  if (pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    std::vector<std::string> argv = args;
    argv.push_back("--worker-index=" + std::to_string(index));  // --workers is already there
    (void)count;
    std::vector<char*> raw;
    for (auto& a : argv)
      raw.push_back(a.data());
    raw.push_back(nullptr);
    execv("/proc/self/exe", raw.data());
    _exit(127);
  }
  close(fds[1]);
  c.out = fdopen(fds[0], "r");
  return c;
}

std::string progress_line(const std::vector<child>& children) {
  std::int64_t attempts = 0, ok = 0, failed = 0, held = 0, kicks = 0;
  std::string phase;
  for (const auto& c : children) {
    const auto& p = c.last_progress;
    if (p.empty())
      continue;
    attempts += p.at("attempts").to_number<std::int64_t>();
    ok += p.at("ok").to_number<std::int64_t>();
    failed += p.at("failed").to_number<std::int64_t>();
    held += p.at("held").to_number<std::int64_t>();
    kicks += p.at("kicks").to_number<std::int64_t>();
    phase = json::value_to<std::string>(p.at("phase"));
  }
  return "[" + phase + "] attempts " + std::to_string(attempts) + "  ok " + std::to_string(ok) +
         "  failed " + std::to_string(failed) + "  held " + std::to_string(held) + "  kicks " +
         std::to_string(kicks);
}

report run_parent(const std::vector<std::string>& args, int workers) {
  std::vector<child> children;
  for (int i = 0; i < workers; ++i)
    children.push_back(spawn_worker(args, i, workers));
  std::mutex mutex;
  const bool tty = isatty(STDERR_FILENO);
  std::vector<std::thread> readers;
  for (auto& c : children) {
    readers.emplace_back([&mutex, &c, &children, tty] {
      char* line = nullptr;
      std::size_t size = 0;
      while (getline(&line, &size, c.out) > 0) {
        boost::system::error_code ec;
        auto message = json::parse(line, ec);
        if (ec || !message.is_object())
          continue;
        std::lock_guard lock(mutex);
        if (auto* p = message.as_object().if_contains("progress")) {
          c.last_progress = p->as_object();
          const auto text = progress_line(children);
          if (tty)
            std::cerr << "\r" << text << "\033[K" << std::flush;
          else
            std::cerr << text << "\n";
        } else if (auto* r = message.as_object().if_contains("report")) {
          c.final_report = report::from_json(r->as_object());
        }
      }
      free(line);
      fclose(c.out);
    });
  }
  for (auto& t : readers)
    t.join();
  if (tty)
    std::cerr << "\n";
  report merged;
  for (auto& c : children) {
    int status = 0;
    waitpid(c.pid, &status, 0);
    if (!c.final_report)
      throw std::runtime_error("a worker ended without a report (status " + std::to_string(status) +
                               ")");
    merged.merge(*c.final_report);
  }
  return merged;
}

// Prints what this run measured, and only that (a message run measures no
// login latency, a run without kicks no kick latency).
void print_human(const report& r, int workers) {
  const auto j = r.to_json(false);
  std::cout << "mode " << r.mode << " with " << workers << " worker(s), " << r.elapsed_s << " s\n"
            << "logins ok " << r.logins_ok << " of " << r.attempts << ", "
            << j.at("logins_per_s").to_number<double>() << " logins/s\n";
  if (!r.login_latency_ms.empty())
    std::cout << "login latency ms  p50 " << percentile(r.login_latency_ms, 50) << "  p90 "
              << percentile(r.login_latency_ms, 90) << "  p99 "
              << percentile(r.login_latency_ms, 99) << "\n";
  if (!r.kicks.empty() || !r.kick_latency_ms.empty())
    std::cout << "kicks " << json::serialize(j.at("kicks_by_type")) << "  kick latency ms p50 "
              << percentile(r.kick_latency_ms, 50) << " p99 " << percentile(r.kick_latency_ms, 99)
              << "\n";
  if (!r.failures.empty())
    std::cout << "failures " << json::serialize(j.at("failures_by_code")) << "\n";
  if (r.mode != "message")
    std::cout << "connections held (peak) " << r.held_peak << "\n";
  if (r.audit_sampled > 0)
    std::cout << "audit (" << r.audit_source << ") sampled " << r.audit_sampled
              << " users, violations " << r.audit_violations << "\n";
  if (r.mode == "message")
    std::cout << "messages sent " << r.messages_sent << ", acknowledged " << r.messages_acked
              << " (" << (r.send_s > 0 ? r.messages_acked / r.send_s : 0) << "/s), received "
              << r.messages_received << "\n"
              << "send to receive ms  p50 " << percentile(r.message_latency_ms, 50) << "  p99 "
              << percentile(r.message_latency_ms, 99) << "; send to answer ms  p50 "
              << percentile(r.answer_latency_ms, 50) << "  p99 "
              << percentile(r.answer_latency_ms, 99) << "\n"
              << "message audit: missing " << r.message_missing << ", duplicates "
              << r.message_duplicates << ", out of order " << r.message_out_of_order << "\n";
  for (const auto& n : r.notes)
    std::cout << "note: " << n << "\n";
}

// A load run where most logins failed measured nothing worth a zero exit.
bool enough_success(const report& r, double min_success_percent) {
  const double percent = r.attempts > 0 ? 100.0 * r.logins_ok / r.attempts : 0;
  if (percent >= min_success_percent)
    return true;
  std::cerr << "chat-loadgen: " << r.logins_ok << " of " << r.attempts << " logins succeeded ("
            << percent << "%), below --min-success " << min_success_percent << "%";
  if (!r.failures.empty())
    std::cerr << "; failures by code " << json::serialize(r.to_json(false).at("failures_by_code"));
  std::cerr << "\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"chat-loadgen: simulated chatd logins, measured"};
  cli.option_defaults()->always_capture_default();
  settings s;
  double min_success = 99;
  std::string mix = "Web:100", rate = "1000/s", hold = "10s", duration = "10s", json_file;
  cli.add_option("--url", s.url, "chatd WebSocket URL");
  cli.add_option("--sdkappid", s.sdkappid, "SDKAppID");
  cli.add_option("--key", s.key, "the app's secret key (signs the UserSigs)")->required();
  cli.add_option("--admin", s.admin, "admin identity for the audit (REST)");
  cli.add_option(
         "--mode", s.mode,
         "login-hold | churn | kick-storm | message (half the users send to the other half)")
      ->check(CLI::IsMember({"login-hold", "churn", "kick-storm", "message"}));
  cli.add_option("--users", s.users, "simulated users")->check(CLI::PositiveNumber);
  cli.add_option("--instances-per-user", s.instances_per_user, "instances per user")
      ->check(CLI::PositiveNumber);
  cli.add_option("--platform-mix", mix, "Platform:weight,... (default Web:100)");
  cli.add_option("--rate", rate, "logins (message mode: messages) per second, e.g. 5000/s");
  cli.add_option("--hold", hold, "login-hold/kick-storm: how long to hold, e.g. 60s");
  cli.add_option("--duration", duration, "churn, message: how long to run, e.g. 30s");
  cli.add_option("--workers", s.workers, "worker processes (each under the open-file limit)")
      ->check(CLI::PositiveNumber);
  cli.add_option("--worker-index", s.worker_index, "internal: this worker's index")->group("");
  cli.add_option("--source-ips", s.source_ips, "spread connections over 127.0.0.2..127.0.0.(1+N)");
  cli.add_option("--user-prefix", s.user_prefix, "userIDs are PREFIX-N");
  cli.add_option("--audit-sample", s.audit_sample, "users checked by the audit");
  cli.add_option("--max-in-flight", s.max_in_flight, "churn: cycles running at once per worker");
  cli.add_option("--json", json_file, "write the merged report (with samples' summaries) here");
  cli.add_option("--min-success", min_success,
                 "exit 3 if fewer than this percentage of the logins succeed")
      ->check(CLI::Range(0.0, 100.0));
  CLI11_PARSE(cli, argc, argv);
  try {
    s.platform_mix = parse_mix(mix);
    s.hold = parse_seconds(hold);
    s.duration = parse_seconds(duration);
    s.rate = parse_rate(rate);
  } catch (const std::exception& e) {
    std::cerr << "chat-loadgen: " << e.what() << "\n";
    return 2;
  }
  const auto fd_limit = raise_file_limit();

  const bool is_worker = cli.count("--worker-index") > 0;
  if (is_worker) {
    auto r = run_worker(s, [](const json::object& p) {
      std::cout << json::serialize(json::object{{"progress", p}}) << std::endl;
    });
    if (static_cast<double>(s.users) / s.workers * s.instances_per_user > std::stod(fd_limit) - 64)
      r.notes.push_back("a worker holds more connections than its open-file limit (" + fd_limit +
                        "): add --workers");
    std::cout << json::serialize(json::object{{"report", r.to_json(true)}}) << std::endl;
    return 0;
  }
  std::vector<std::string> args(argv, argv + argc);
  try {
    const auto merged = run_parent(args, s.workers);
    print_human(merged, s.workers);
    if (!json_file.empty()) {
      auto j = merged.to_json(false);
      j["workers"] = s.workers;
      j["users"] = s.users;
      j["instances_per_user"] = s.instances_per_user;
      j["rate_target"] = s.rate;
      std::ofstream(json_file) << json::serialize(j) << "\n";
    }
    if (merged.audit_violations != 0)
      return 1;
    return enough_success(merged, min_success) ? 0 : 3;
  } catch (const std::exception& e) {
    std::cerr << "chat-loadgen: " << e.what() << "\n";
    return 2;
  }
}
