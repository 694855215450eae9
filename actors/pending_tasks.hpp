// Internal to actors/: work an actor keeps until a message of its own names
// it (a timer that is due, a retry): its messages carry ids, never closures.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

namespace chatd {

class pending_tasks {
 public:
  // Keeps `task`; returns the id a message will name it by.
  std::uint64_t add(std::function<void()> task) {
    tasks_.emplace(++last_, std::move(task));
    return last_;
  }
  // Runs the task named `id` once (nothing if it ran already).
  void run(std::uint64_t id) {
    auto it = tasks_.find(id);
    if (it == tasks_.end())
      return;
    auto task = std::move(it->second);
    tasks_.erase(it);
    task();
  }

 private:
  std::uint64_t last_ = 0;
  std::unordered_map<std::uint64_t, std::function<void()>> tasks_;
};

}  // namespace chatd
