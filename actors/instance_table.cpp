#include "actors/instance_table.hpp"

#include <algorithm>

namespace chatd {

std::vector<eviction> instance_table::admit(online_instance incoming, const login_limits& limits) {
  std::vector<eviction> evicted;
  // Another platform of the same policy group: all of its instances go.
  for (const auto& inst : instances_)
    if (platforms_conflict(limits.policy, inst.platform, incoming.platform))
      evicted.push_back({inst, kick_type::multiple_device});

  // Same platform over the limit: the oldest go, until the newcomer fits.
  // instances_ is kept in ready order, so the first ones found are the oldest.
  const int limit = instance_limit(limits, incoming.platform);
  int excess = count_on(incoming.platform) + 1 - limit;
  const auto same_platform_type =
      incoming.platform == platform::web ? kick_type::multiple_account : kick_type::multiple_device;
  for (const auto& inst : instances_) {
    if (excess <= 0)
      break;
    if (inst.platform == incoming.platform) {
      evicted.push_back({inst, same_platform_type});
      --excess;
    }
  }

  for (const auto& e : evicted)
    remove(e.instance.instance_id);
  instances_.push_back(std::move(incoming));
  return evicted;
}

std::vector<replayed_eviction> instance_table::adopt(online_instance adopted,
                                                     const login_limits& limits) {
  if (contains(adopted.instance_id))
    return {};
  auto all = std::move(instances_);
  auto at = std::upper_bound(
      all.begin(), all.end(), adopted.ready_order,
      [](std::uint64_t order, const online_instance& i) { return order < i.ready_order; });
  all.insert(at, std::move(adopted));
  instances_.clear();
  std::vector<replayed_eviction> evicted;
  for (auto& instance : all) {
    for (auto& e : admit(instance, limits))
      evicted.push_back({std::move(e), instance});
  }
  return evicted;
}

bool instance_table::remove(std::string_view instance_id) {
  auto it = std::find_if(instances_.begin(), instances_.end(),
                         [&](const online_instance& i) { return i.instance_id == instance_id; });
  if (it == instances_.end())
    return false;
  instances_.erase(it);
  return true;
}

bool instance_table::contains(std::string_view instance_id) const {
  return std::any_of(instances_.begin(), instances_.end(),
                     [&](const online_instance& i) { return i.instance_id == instance_id; });
}

int instance_table::count_on(platform p) const {
  return static_cast<int>(std::count_if(instances_.begin(), instances_.end(),
                                        [&](const online_instance& i) { return i.platform == p; }));
}

const online_instance* instance_table::find(std::string_view instance_id) const {
  for (const auto& i : instances_)
    if (i.instance_id == instance_id)
      return &i;
  return nullptr;
}

}  // namespace chatd
