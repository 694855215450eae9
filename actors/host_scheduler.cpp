// CAF's scheduler is a module: an actor system whose config supplies one
// uses it instead of its own work-sharing or work-stealing threads. This one
// hands each runnable actor to the host's executor. Jobs wait in one queue
// of our own, and the executor only gets a token to take one: at shutdown
// no job is stranded in an event loop that no longer runs (an actor whose
// job is lost can never be scheduled again).
#include "actors/host_scheduler.hpp"

#include <caf/all.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "actors/session_service.hpp"

namespace chatd {
namespace {

class host_coordinator;

// What a resumed actor uses to schedule the actors it messages.
class host_unit final : public caf::execution_unit {
 public:
  host_unit(caf::actor_system* system, host_coordinator& owner)
      : caf::execution_unit(system), owner_(owner) {}
  void exec_later(caf::resumable* job) override;

 private:
  host_coordinator& owner_;
};

class host_coordinator final : public caf::scheduler::abstract_coordinator {
 public:
  host_coordinator(caf::actor_system& system, actor_executor& executor)
      : abstract_coordinator(system), executor_(executor), unit_(&system, *this) {}

  void enqueue(caf::resumable* job) override {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(job);
      if (own_thread_) {
        wake_.notify_one();
        return;
      }
    }
    executor_.post(&host_coordinator::run_one, this);
  }

  caf::detail::thread_safe_actor_clock& clock() noexcept override { return clock_; }

  void take_over() {
    std::lock_guard lock(mutex_);
    if (own_thread_)
      return;
    own_thread_ = true;
    worker_ = std::thread([this] { work_until_stopped(); });
  }

 protected:
  void start() override {
    timer_ = std::thread([this] { clock_.run_dispatch_loop(); });
    abstract_coordinator::start();
  }

  void stop() override {
    take_over();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      wake_.notify_one();
    }
    worker_.join();
    stop_actors();
    while (auto* job = next_job())  // what the utility actors' exits left
      run(job);
    clock_.cancel_dispatch_loop();
    timer_.join();
  }

 private:
  static void run_one(void* self) {
    auto* coordinator = static_cast<host_coordinator*>(self);
    if (auto* job = coordinator->next_job())
      coordinator->run(job);  // none: the worker thread took it
  }

  caf::resumable* next_job() {
    std::lock_guard lock(mutex_);
    if (jobs_.empty())
      return nullptr;
    auto* job = jobs_.front();
    jobs_.pop_front();
    return job;
  }

  void run(caf::resumable* job) {
    switch (job->resume(&unit_, max_throughput_)) {
      case caf::resumable::resume_later:
        enqueue(job);
        break;
      case caf::resumable::done:
      case caf::resumable::awaiting_message:
        caf::intrusive_ptr_release(job);
        break;
      case caf::resumable::shutdown_execution_unit:
        break;
    }
  }

  void work_until_stopped() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      auto* job = jobs_.front();
      jobs_.pop_front();
      lock.unlock();
      run(job);
      lock.lock();
    }
  }

  actor_executor& executor_;
  host_unit unit_;
  caf::detail::thread_safe_actor_clock clock_;
  std::thread timer_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<caf::resumable*> jobs_;
  bool own_thread_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

void host_unit::exec_later(caf::resumable* job) {
  owner_.enqueue(job);
}

}  // namespace

void use_host_scheduler(caf::actor_system_config& cfg, actor_executor& executor) {
  cfg.module_factories.push_back(
      [&executor](caf::actor_system& system) -> caf::actor_system::module* {
        return new host_coordinator(system, executor);
      });
}

void take_over_host_scheduler(caf::actor_system& system) {
  if (auto* host = dynamic_cast<host_coordinator*>(&system.scheduler()))
    host->take_over();
}

}  // namespace chatd
