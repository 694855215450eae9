#include "actors/registry_table.hpp"

#include <algorithm>
#include <chrono>

namespace chatd {

std::optional<live_session> registry_table::take_session(std::string_view instance_id) {
  auto it = sessions_.find(std::string(instance_id));
  if (it == sessions_.end())
    return std::nullopt;
  auto session = std::move(it->second);
  sessions_.erase(it);
  return session;
}

std::vector<evicted_instance> registry_table::admit(const online_instance& incoming,
                                                    const login_limits& limits,
                                                    live_session session) {
  std::vector<evicted_instance> out;
  for (auto& e : rules_.admit(incoming, limits))
    if (auto evicted = take_session(e.instance.instance_id))
      out.push_back({{std::move(e.instance), std::move(*evicted)}, e.type, incoming});
  sessions_.emplace(incoming.instance_id, std::move(session));
  return out;
}

std::vector<evicted_instance> registry_table::adopt(const online_instance& adopted,
                                                    const login_limits& limits,
                                                    live_session session) {
  last_ready_order_ = std::max(last_ready_order_, adopted.ready_order);
  sessions_.emplace(adopted.instance_id, std::move(session));
  std::vector<evicted_instance> out;
  for (auto& e : rules_.adopt(adopted, limits))
    if (auto evicted = take_session(e.evicted.instance.instance_id))
      out.push_back(
          {{std::move(e.evicted.instance), std::move(*evicted)}, e.evicted.type, std::move(e.by)});
  return out;
}

std::uint64_t registry_table::next_ready_order() {
  using namespace std::chrono;
  const auto now_us = static_cast<std::uint64_t>(
      duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
  last_ready_order_ = std::max(last_ready_order_ + 1, now_us);
  return last_ready_order_;
}

std::optional<removed_instance> registry_table::remove(std::string_view instance_id) {
  const auto* instance = rules_.find(instance_id);
  if (instance == nullptr)
    return std::nullopt;
  removed_instance removed{*instance, take_session(instance_id).value_or(live_session{})};
  rules_.remove(instance_id);
  return removed;
}

std::vector<removed_instance> registry_table::remove_all() {
  std::vector<removed_instance> out;
  const auto all = rules_.instances();
  for (const auto& instance : all)
    if (auto removed = remove(instance.instance_id))
      out.push_back(std::move(*removed));
  return out;
}

live_session* registry_table::session(std::string_view instance_id) {
  auto it = sessions_.find(std::string(instance_id));
  return it == sessions_.end() ? nullptr : &it->second;
}

std::optional<std::string> registry_table::id_of(const caf::actor_addr& actor) const {
  for (const auto& [id, session] : sessions_)
    if (session.actor.address() == actor)
      return id;
  return std::nullopt;
}

}  // namespace chatd
