// The apps a server hosts, readable from any thread, replaceable at run time
// (live config): readers get an immutable snapshot of one app.
#pragma once

#include <memory>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "protocol/app_config.hpp"

namespace chatd {

class app_catalog {
 public:
  explicit app_catalog(const std::vector<app_config>& apps) {
    for (const auto& app : apps)
      apps_[app.sdkappid] = std::make_shared<const app_config>(app);
  }

  std::shared_ptr<const app_config> find(std::uint32_t sdkappid) const {
    std::shared_lock lock(mutex_);
    auto it = apps_.find(sdkappid);
    return it == apps_.end() ? nullptr : it->second;
  }

  void replace(app_config app) {
    auto snapshot = std::make_shared<const app_config>(std::move(app));
    std::unique_lock lock(mutex_);
    apps_[snapshot->sdkappid] = std::move(snapshot);
  }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::uint32_t, std::shared_ptr<const app_config>> apps_;
};

}  // namespace chatd
