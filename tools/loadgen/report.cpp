#include "report.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

namespace chatd::loadgen {
namespace json = boost::json;

double percentile(std::vector<double> samples, double p) {
  if (samples.empty())
    return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * samples.size()));
  return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

namespace {

json::object summary(const std::vector<double>& s) {
  return {{"count", s.size()},
          {"p50", percentile(s, 50)},
          {"p90", percentile(s, 90)},
          {"p99", percentile(s, 99)},
          {"max", s.empty() ? 0.0 : *std::max_element(s.begin(), s.end())}};
}

json::array samples_of(const std::vector<double>& s) {
  json::array a;
  for (double v : s)
    a.emplace_back(std::round(v * 1000) / 1000);
  return a;
}

std::vector<double> doubles(const json::value* v) {
  std::vector<double> out;
  if (v != nullptr && v->is_array())
    for (const auto& x : v->get_array())
      out.push_back(x.to_number<double>());
  return out;
}

}  // namespace

json::object report::to_json(bool with_samples) const {
  json::object failures_json, kicks_json;
  for (const auto& [code, n] : failures)
    failures_json[std::to_string(code)] = n;
  for (const auto& [type, n] : kicks)
    kicks_json[type] = n;
  json::array notes_json;
  for (const auto& n : notes)
    notes_json.emplace_back(n);
  json::object o{{"mode", mode},
                 {"elapsed_s", elapsed_s},
                 {"ramp_s", ramp_s},
                 {"attempts", attempts},
                 {"logins_ok", logins_ok},
                 {"logins_per_s", ramp_s > 0 ? logins_ok / ramp_s : 0.0},
                 {"failures_by_code", failures_json},
                 {"kicks_by_type", kicks_json},
                 {"login_latency_ms", summary(login_latency_ms)},
                 {"kick_latency_ms", summary(kick_latency_ms)},
                 {"connections_held_peak", held_peak},
                 {"audit", json::object{{"source", audit_source},
                                        {"sampled_users", audit_sampled},
                                        {"violations", audit_violations},
                                        {"clean", audit_violations == 0 && audit_sampled > 0}}},
                 {"notes", notes_json}};
  if (mode == "message") {
    o["messages"] = json::object{{"sent", messages_sent},
                                 {"acked", messages_acked},
                                 {"received", messages_received},
                                 {"send_s", send_s},
                                 {"acked_per_s", send_s > 0 ? messages_acked / send_s : 0.0},
                                 {"latency_ms", summary(message_latency_ms)},
                                 {"answer_ms", summary(answer_latency_ms)},
                                 {"audit", json::object{{"missing", message_missing},
                                                        {"duplicates", message_duplicates},
                                                        {"out_of_order", message_out_of_order}}}};
    if (with_samples) {
      o["message_latency_samples"] = samples_of(message_latency_ms);
      o["answer_latency_samples"] = samples_of(answer_latency_ms);
    }
  }
  if (with_samples) {
    o["login_latency_samples"] = samples_of(login_latency_ms);
    o["kick_latency_samples"] = samples_of(kick_latency_ms);
  }
  return o;
}

report report::from_json(const json::object& o) {
  report r;
  r.mode = json::value_to<std::string>(o.at("mode"));
  r.elapsed_s = o.at("elapsed_s").to_number<double>();
  r.ramp_s = o.at("ramp_s").to_number<double>();
  r.attempts = o.at("attempts").to_number<std::int64_t>();
  r.logins_ok = o.at("logins_ok").to_number<std::int64_t>();
  for (const auto& [code, n] : o.at("failures_by_code").as_object())
    r.failures[std::stoi(std::string(code))] = n.to_number<std::int64_t>();
  for (const auto& [type, n] : o.at("kicks_by_type").as_object())
    r.kicks[std::string(type)] = n.to_number<std::int64_t>();
  r.login_latency_ms = doubles(o.if_contains("login_latency_samples"));
  r.kick_latency_ms = doubles(o.if_contains("kick_latency_samples"));
  r.held_peak = o.at("connections_held_peak").to_number<std::int64_t>();
  const auto& audit = o.at("audit").as_object();
  r.audit_source = json::value_to<std::string>(audit.at("source"));
  r.audit_sampled = audit.at("sampled_users").to_number<std::int64_t>();
  r.audit_violations = audit.at("violations").to_number<std::int64_t>();
  for (const auto& n : o.at("notes").as_array())
    r.notes.emplace_back(n.as_string());
  if (const auto* m = o.if_contains("messages")) {
    const auto& messages = m->as_object();
    r.messages_sent = messages.at("sent").to_number<std::int64_t>();
    r.messages_acked = messages.at("acked").to_number<std::int64_t>();
    r.messages_received = messages.at("received").to_number<std::int64_t>();
    r.send_s = messages.at("send_s").to_number<double>();
    const auto& audit = messages.at("audit").as_object();
    r.message_missing = audit.at("missing").to_number<std::int64_t>();
    r.message_duplicates = audit.at("duplicates").to_number<std::int64_t>();
    r.message_out_of_order = audit.at("out_of_order").to_number<std::int64_t>();
    r.message_latency_ms = doubles(o.if_contains("message_latency_samples"));
    r.answer_latency_ms = doubles(o.if_contains("answer_latency_samples"));
  }
  return r;
}

void report::merge(const report& other) {
  if (mode.empty())
    mode = other.mode;
  elapsed_s = std::max(elapsed_s, other.elapsed_s);
  ramp_s = std::max(ramp_s, other.ramp_s);
  attempts += other.attempts;
  logins_ok += other.logins_ok;
  for (const auto& [code, n] : other.failures)
    failures[code] += n;
  for (const auto& [type, n] : other.kicks)
    kicks[type] += n;
  login_latency_ms.insert(login_latency_ms.end(), other.login_latency_ms.begin(),
                          other.login_latency_ms.end());
  kick_latency_ms.insert(kick_latency_ms.end(), other.kick_latency_ms.begin(),
                         other.kick_latency_ms.end());
  held_peak += other.held_peak;  // workers hold disjoint users
  audit_sampled += other.audit_sampled;
  audit_violations += other.audit_violations;
  if (audit_source.empty())
    audit_source = other.audit_source;
  for (const auto& n : other.notes)
    if (std::find(notes.begin(), notes.end(), n) == notes.end())
      notes.push_back(n);
  send_s = std::max(send_s, other.send_s);
  messages_sent += other.messages_sent;
  messages_acked += other.messages_acked;
  messages_received += other.messages_received;
  message_missing += other.message_missing;
  message_duplicates += other.message_duplicates;
  message_out_of_order += other.message_out_of_order;
  message_latency_ms.insert(message_latency_ms.end(), other.message_latency_ms.begin(),
                            other.message_latency_ms.end());
  answer_latency_ms.insert(answer_latency_ms.end(), other.answer_latency_ms.begin(),
                           other.answer_latency_ms.end());
}

}  // namespace chatd::loadgen
