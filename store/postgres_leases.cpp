#include "store/postgres_leases.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <string>

#include "store/postgres_connection.hpp"

namespace chatd {
namespace {

constexpr std::int64_t schema_lock_key = 0x63686174646c6561;  // "chatdlea"
constexpr const char* lease_channel = "chatd_leases";

// The shard rows exist from the start, never taken (epoch 0, long expired).
constexpr const char* schema = R"sql(
  CREATE TABLE IF NOT EXISTS chatd_shard_leases (
    shard INTEGER PRIMARY KEY, owner TEXT NOT NULL DEFAULT '',
    epoch BIGINT NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ NOT NULL DEFAULT '1970-01-01T00:00:00Z');
  CREATE TABLE IF NOT EXISTS chatd_cluster_nodes (
    node TEXT PRIMARY KEY, expires_at TIMESTAMPTZ NOT NULL,
    synced BIGINT[] NOT NULL DEFAULT '{}');
)sql";

// "{1,2,3}" -> numbers ("{}" or NULL: none).
std::vector<std::uint64_t> parse_array(const pqxx::field& f) {
  std::vector<std::uint64_t> out;
  if (f.is_null())
    return out;
  const std::string text = f.c_str();
  std::uint64_t value = 0;
  bool digits = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + static_cast<std::uint64_t>(c - '0');
      digits = true;
    } else if (digits) {
      out.push_back(value);
      value = 0;
      digits = false;
    }
  }
  return out;
}

// A lost database is noticed within seconds, not at TCP's own timeouts.
std::string with_timeouts(const std::string& url) {
  const char* sep = url.find('?') == std::string::npos ? "?" : "&";
  return url + sep +
         "connect_timeout=2&keepalives=1&keepalives_idle=1&keepalives_interval=1&"
         "keepalives_count=2&tcp_user_timeout=2000";
}

class shard_receiver final : public pqxx::notification_receiver {
 public:
  explicit shard_receiver(pqxx::connection& c) : pqxx::notification_receiver(c, lease_channel) {}
  void operator()(const std::string&, int) override {}
};

class postgres_leases final : public lease_store {
  // The connection, and its LISTEN for other nodes' changes, opened again
  // after a loss.
  pqxx::connection& connection() {
    if (!conn_) {
      conn_ = std::make_unique<pqxx::connection>(url_);
      receiver_ = std::make_unique<shard_receiver>(*conn_);
    }
    return *conn_;
  }

  // Any failure drops the connection (the receiver first: it refers to it).
  template <class F>
  auto guarded(F&& f) {
    try {
      return f();
    } catch (...) {
      receiver_.reset();
      conn_.reset();
      throw;
    }
  }

 public:
  explicit postgres_leases(const std::string& url) : url_(with_timeouts(url)) {
    open_postgres(url, "lease tables", [&] {
      create_schema(connection(), schema_lock_key, schema);
      pqxx::work tx(connection());
      tx.exec_params(
          "INSERT INTO chatd_shard_leases (shard) SELECT generate_series(0, $1 - 1) "
          "ON CONFLICT DO NOTHING",
          static_cast<int>(shard_count));
      tx.commit();
      return 0;
    });
  }

  lease_view round(const std::string& self, std::chrono::milliseconds lease,
                   const std::vector<std::uint64_t>& synced,
                   void (*before_release)(void*, std::uint32_t), void* context) override {
    return guarded([&] { return round_once(self, lease, synced, before_release, context); });
  }

  void wait_for_change(std::chrono::milliseconds timeout) override {
    guarded([&] {
      connection().await_notification(timeout.count() / 1000, (timeout.count() % 1000) * 1000);
      return 0;
    });
  }

 private:
  lease_view round_once(const std::string& self, std::chrono::milliseconds lease,
                        const std::vector<std::uint64_t>& synced,
                        void (*before_release)(void*, std::uint32_t), void* context) {
    pqxx::work tx(connection());
    const auto ms = static_cast<long long>(lease.count());
    // This round locks every shard row. A node frozen inside it (SIGSTOP, a
    // paused VM: its kernel still answers TCP keepalives) would hold those
    // locks, and so every other node's round, for as long as it is frozen,
    // until their leases ran out: PostgreSQL ends a session that sits idle
    // in this transaction for an eighth of a lease, well within what the
    // others' leases survive (their margin), and a round's own pauses
    // between statements take milliseconds.
    tx.exec("SET LOCAL idle_in_transaction_session_timeout = " +
            std::to_string(std::max<long long>(ms / 8, 20)));
    tx.exec_params(
        "INSERT INTO chatd_cluster_nodes (node, expires_at, synced) "
        "VALUES ($1, now() + $2 * interval '1 millisecond', $3::bigint[]) "
        "ON CONFLICT (node) DO UPDATE SET expires_at = EXCLUDED.expires_at, "
        "synced = EXCLUDED.synced",
        self, ms, number_array(synced));
    lease_view view;
    for (const auto& row :
         tx.exec("SELECT node, expires_at > now(), synced FROM chatd_cluster_nodes ORDER BY node"))
      view.nodes.push_back({row[0].as<std::string>(), row[1].as<bool>(), parse_array(row[2])});
    view.shards.resize(shard_count);
    for (const auto& row : tx.exec("SELECT shard, owner, epoch, "
                                   "(extract(epoch FROM (expires_at - now())) * 1000)::bigint "
                                   "FROM chatd_shard_leases ORDER BY shard FOR UPDATE")) {
      const auto shard = row[0].as<std::uint32_t>();
      if (shard < shard_count)
        view.shards[shard] = {row[1].as<std::string>(), row[2].as<std::uint64_t>(),
                              std::chrono::milliseconds(row[3].as<long long>())};
    }
    auto live = view.live_nodes();
    if (lease.count() == 0)  // leaving: the others are the cluster now
      std::erase(live, self);
    const auto plan = plan_round(self, live, view.shards);
    std::vector<std::uint64_t> renew, acquire, release;
    for (std::uint32_t shard = 0; shard < plan.size(); ++shard) {
      auto& lease_row = view.shards[shard];
      switch (plan[shard]) {
        case lease_change::keep:
          break;
        case lease_change::renew:
          renew.push_back(shard);
          lease_row.remaining = lease;
          break;
        case lease_change::acquire:
          acquire.push_back(shard);
          lease_row = {self, lease_row.epoch + 1, lease};
          break;
        case lease_change::release:
          before_release(context, shard);
          release.push_back(shard);
          lease_row.remaining = std::chrono::milliseconds(0);
          break;
      }
    }
    if (!renew.empty())
      tx.exec_params(
          "UPDATE chatd_shard_leases SET expires_at = now() + $1 * interval '1 millisecond' "
          "WHERE shard = ANY($2::int[])",
          ms, number_array(renew));
    if (!acquire.empty())
      tx.exec_params(
          "UPDATE chatd_shard_leases SET owner = $1, epoch = epoch + 1, "
          "expires_at = now() + $2 * interval '1 millisecond' WHERE shard = ANY($3::int[])",
          self, ms, number_array(acquire));
    if (!release.empty())
      tx.exec_params(
          "UPDATE chatd_shard_leases SET expires_at = now() WHERE shard = ANY($1::int[])",
          number_array(release));
    if (!acquire.empty() || !release.empty())
      tx.exec_params("SELECT pg_notify($1, $2)", lease_channel, self);
    tx.commit();
    return view;
  }

  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<shard_receiver> receiver_;
};

}  // namespace

std::shared_ptr<lease_store> open_postgres_leases(const std::string& url) {
  return std::make_shared<postgres_leases>(url);
}

}  // namespace chatd
