#include "actors/session_service.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <random>
#include <thread>

#include "actors/messages.hpp"

namespace chatd {
namespace {

// A gateway actor issues requests for callers outside the actor system and
// hands the results to their callbacks: CAF's request timeouts and
// receiver-down errors apply, and no actor is spawned per request.
caf::behavior gateway_actor(caf::event_based_actor* self) {
  return {
      [=](run_atom, const gateway_job& job) { job(self); },
  };
}

std::size_t or_default(std::size_t value, std::size_t fallback) {
  return value != 0 ? value : fallback;
}

caf::actor_system_config make_config(std::size_t threads, scheduler_policy policy) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", threads);
  cfg.set("scheduler.policy",
          policy == scheduler_policy::sharing ? caf::atom("sharing") : caf::atom("stealing"));
  return cfg;
}

// Instance IDs: a random per-boot prefix (21 bits) and a counter (32 bits).
// Unique within the process, unlikely to repeat across restarts, and below
// 2^53 so that JavaScript clients keep every digit.
std::uint64_t boot_prefix() {
  std::random_device entropy;
  return (static_cast<std::uint64_t>(entropy()) & ((1u << 21) - 1)) | 1u;
}

}  // namespace

struct session_service::impl {
  std::size_t threads;
  caf::actor_system_config config;
  caf::actor_system system;
  caf::actor expiry_wheel;
  std::vector<caf::actor> directories;
  std::vector<caf::actor> gateways;
  std::atomic<std::uint64_t> next_gateway{0};
  std::atomic<std::uint64_t> instance_counter;
  std::chrono::milliseconds ask_timeout;

  explicit impl(const service_options& options)
      : threads(or_default(options.scheduler_threads,
                           std::max(1u, std::thread::hardware_concurrency()))),
        config(make_config(threads, options.policy)),
        system(config),
        instance_counter(boot_prefix() << 32),
        ask_timeout(options.ask_timeout > std::chrono::milliseconds(0) ? options.ask_timeout
                                                                       : std::chrono::seconds(10)) {
    expiry_wheel = spawn_expiry_wheel(system);
    for (std::size_t i = 0; i < or_default(options.directory_shards, 2 * threads); ++i)
      directories.push_back(spawn_directory(system, expiry_wheel));
    for (std::size_t i = 0; i < or_default(options.gateway_actors, threads); ++i)
      gateways.push_back(system.spawn(gateway_actor));
  }

  ~impl() {
    for (auto& a : directories)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& a : gateways)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(expiry_wheel, caf::exit_reason::user_shutdown);
  }

  const caf::actor& directory_of(std::uint32_t sdkappid, const std::string& user_id) const {
    return directories[user_key_hash{}(user_key{sdkappid, user_id}) % directories.size()];
  }

  std::string new_instance_id() {
    const auto n = instance_counter.fetch_add(1, std::memory_order_relaxed);
    return std::to_string(n);
  }

  void run(gateway_job job) {
    const auto i = next_gateway.fetch_add(1, std::memory_order_relaxed) % gateways.size();
    caf::anon_send(gateways[i], run_atom::value, std::move(job));
  }
};

session_service::session_service(service_options options)
    : impl_(std::make_unique<impl>(options)) {}

session_service::~session_service() = default;

void session_service::login(login_order order, std::function<void(login_grant)> done) {
  order.instance_id = impl_->new_instance_id();
  auto dest = impl_->directory_of(order.sdkappid, order.user_id);
  auto timeout = impl_->ask_timeout;
  impl_->run([=, order = std::move(order)](caf::event_based_actor* self) mutable {
    self->request(dest, timeout, login_atom::value, std::move(order))
        .then([done](login_grant& grant) { done(std::move(grant)); },
              [done](caf::error&) {
                done(login_grant{errc::internal_error, {}, {}});
              });
  });
}

void session_service::logout(const session_handle& session, std::function<void(errc)> done) {
  auto timeout = impl_->ask_timeout;
  impl_->run([=](caf::event_based_actor* self) {
    self->request(session->registry, timeout, logout_atom::value, session->instance_id)
        .then([done](int code) { done(static_cast<errc>(code)); },
              [done](caf::error&) { done(errc::not_logged_in); });
  });
}

void session_service::renew(const session_handle& session, std::int64_t sig_expires_at_ms,
                            std::function<void(errc)> done) {
  auto timeout = impl_->ask_timeout;
  impl_->run([=](caf::event_based_actor* self) {
    self->request(session->registry, timeout, renew_atom::value, session->instance_id,
                  sig_expires_at_ms)
        .then([done](int code) { done(static_cast<errc>(code)); },
              [done](caf::error&) { done(errc::not_logged_in); });
  });
}

void session_service::kick_user(std::uint32_t sdkappid, std::string user_id, kick_type type,
                                std::function<void(std::size_t)> done) {
  auto dest = impl_->directory_of(sdkappid, user_id);
  auto timeout = impl_->ask_timeout;
  impl_->run([=, key = user_key{sdkappid, std::move(user_id)}](caf::event_based_actor* self) {
    self->request(dest, timeout, kick_atom::value, key, static_cast<int>(type))
        .then([done](std::size_t n) { done(n); }, [done](caf::error&) { done(0); });
  });
}

void session_service::online_instances(std::uint32_t sdkappid, std::string user_id,
                                       std::function<void(std::vector<online_instance>)> done) {
  auto dest = impl_->directory_of(sdkappid, user_id);
  auto timeout = impl_->ask_timeout;
  impl_->run([=, key = user_key{sdkappid, std::move(user_id)}](caf::event_based_actor* self) {
    self->request(dest, timeout, online_atom::value, key)
        .then([done](online_list& list) { done(std::move(list)); },
              [done](caf::error&) { done({}); });
  });
}

std::size_t session_service::running_actors() const {
  return impl_->system.registry().running();
}

void session_service::kill_session_for_test(const session_handle& session) {
  caf::anon_send_exit(session->session, caf::exit_reason::kill);
}

}  // namespace chatd
