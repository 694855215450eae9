#include "gateway/client_link.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <cstdlib>

#include "metrics/metrics.hpp"
#include "protocol/frame.hpp"
#include "protocol/sdk_frame.hpp"

namespace chatd {

// Carries an instance's fate from an actor thread to the connection's strand.
class client_link::sink final : public instance_sink {
 public:
  sink(std::weak_ptr<client_link> link, boost::asio::any_io_executor strand, std::uint64_t attempt)
      : link_(std::move(link)), strand_(std::move(strand)), attempt_(attempt) {}

  void kicked(const kick_notice& notice) override {
    boost::asio::post(strand_, [link = link_, attempt = attempt_, notice] {
      if (auto l = link.lock())
        l->on_kicked(attempt, notice);
    });
  }

  void lost() override {
    boost::asio::post(strand_, [link = link_, attempt = attempt_] {
      if (auto l = link.lock())
        l->on_lost(attempt);
    });
  }

 private:
  std::weak_ptr<client_link> link_;
  boost::asio::any_io_executor strand_;
  std::uint64_t attempt_;
};

client_link::client_link(boost::asio::any_io_executor strand, std::size_t outbox_frames,
                         std::string origin, wire_dialect dialect, bool binary_frames)
    : strand_(strand),
      outbox_(strand, outbox_frames),
      drained_(strand),
      capacity_(outbox_frames),
      origin_(std::move(origin)),
      dialect_(dialect),
      binary_frames_(binary_frames) {}

bool client_link::send(std::string text) {
  if (closing())
    return false;
  if (outbox_.try_send(boost::system::error_code{},
                       outgoing_frame{std::move(text), false, 1000, {}})) {
    ++queued_;
    return true;
  }
  spdlog::warn("client does not read; its outbox is full, disconnecting");
  metrics::connection_failed(metrics::connection_error::slow_client);
  closing_ = true;
  if (on_abort)
    on_abort();
  return false;
}

void client_link::close(std::uint16_t code, std::string reason) {
  if (closing())
    return;
  closing_ = true;
  outgoing_frame frame{{}, true, code, std::move(reason)};
  if (!outbox_.try_send(boost::system::error_code{}, std::move(frame)) && on_abort)
    on_abort();
}

void client_link::frame_written() {
  if (queued_ > 0)
    --queued_;
  if (queued_ * 4 <= capacity_)
    drained_.cancel();
}

void client_link::end() {
  ended_ = true;
  outbox_.close();
  drained_.cancel();
}

std::shared_ptr<instance_sink> client_link::begin_login() {
  login_in_flight_ = true;
  early_kick_.reset();
  early_loss_ = false;
  return std::make_shared<sink>(weak_from_this(), strand_, ++login_attempt_);
}

void client_link::finish_login(active_login login) {
  login_in_flight_ = false;
  sig_expired_unreported_ = false;
  login_ = std::move(login);
  if (early_kick_)
    deliver_kick(*std::exchange(early_kick_, std::nullopt));
  else if (std::exchange(early_loss_, false))
    deliver_loss();
}

void client_link::fail_login() {
  login_in_flight_ = false;
}

void client_link::clear_login() {
  login_.reset();
}

void client_link::on_kicked(std::uint64_t attempt, const kick_notice& notice) {
  if (attempt != login_attempt_)
    return;  // a notice for an earlier login of this connection, already settled
  if (login_in_flight_)
    early_kick_ = notice;
  else if (login_)
    deliver_kick(notice);
}

void client_link::on_lost(std::uint64_t attempt) {
  if (attempt != login_attempt_)
    return;
  if (login_in_flight_)
    early_loss_ = true;
  else if (login_)
    deliver_loss();
}

void client_link::deliver_kick(const kick_notice& notice) {
  if (dialect_ == wire_dialect::tencent_sdk) {
    deliver_sdk_kick(notice);
    return;
  }
  boost::json::object data;
  data["type"] = kick_type_name(notice.type);
  if (notice.by) {
    boost::json::object by;
    by["platform"] = platform_name(notice.by->platform);
    by["instanceID"] = notice.by->instance_id;
    data["by"] = std::move(by);
  }
  login_.reset();
  send(frame::encode_event("kickedOut", std::move(data)));
  send(frame::encode_event("sdkStateNotReady",
                           {{"reason", code_number(not_ready_reason(notice.type))}}));
}

// The SDK learns of kicks by a stat_forceoffline push, and of an expired sig
// by ErrorCode 70001 on its next request (a heartbeat comes within 10 s).
void client_link::deliver_sdk_kick(const kick_notice& notice) {
  login_.reset();
  if (notice.type == kick_type::usersig_expired) {
    sig_expired_unreported_ = true;
    return;
  }
  std::uint64_t by = 0;
  if (notice.by)
    by = std::strtoull(notice.by->instance_id.c_str(), nullptr, 10);
  send(sdk::encode_kick_push(notice.type, by, ++push_seq_));
}

void client_link::deliver_loss() {
  if (dialect_ == wire_dialect::tencent_sdk) {
    // The SDK reconnects and logs in again with its A2: a transparent recovery.
    login_.reset();
    close(1011, "session lost");
    return;
  }
  login_.reset();
  send(frame::encode_event("sdkStateNotReady", {{"reason", code_number(errc::internal_error)}}));
}

}  // namespace chatd
