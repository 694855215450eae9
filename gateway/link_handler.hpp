// What a WebSocket link (`connection`) tells the layer above it, which it
// is given once, at upgrade. Called on the link's strand.
#pragma once

#include <string>

namespace chatd {

class link_handler {
 public:
  virtual ~link_handler() = default;
  // The link is registered and about to read.
  virtual void on_start() = 0;
  // A whole message; a text one is valid UTF-8.
  virtual void on_message(std::string payload, bool binary) = 0;
  // A write completed: the outbox may have room again.
  virtual void on_drained() = 0;
  // The link is gone (closed, failed or cut off); called once.
  virtual void on_end() = 0;
  // The server shuts down: the last word before the link closes with 1001.
  virtual void on_shutdown() = 0;
};

}  // namespace chatd
