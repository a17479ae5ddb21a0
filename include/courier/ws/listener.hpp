// The low-level WebSocket handler: callbacks on the I/O thread, nothing buffered.
#pragma once

#include <courier/ws/frame.hpp>

#include <boost/system/error_code.hpp>

#include <memory>
#include <string>

namespace courier::ws {

/// A handle to send on a connection opened with a listener. Copies share the connection; it
/// may be used from any thread, including inside the listener's callbacks. Sends are queued
/// (never interleaved) and written as soon as possible; they do not block.
class sender {
 public:
  struct state;
  sender() = default;
  /// A handle on an open connection; backends make these.
  explicit sender(std::shared_ptr<state> s) : state_(std::move(s)) {}

  /// Queues one frame. For fragments: the first with fin = false, then frames with
  /// is_continuation = true, the last with fin = true.
  void send(frame f, bool is_continuation = false);
  /// Queues a text message.
  void send_text(std::string text) { send(frame::text(std::move(text))); }
  /// Queues a binary message.
  void send_binary(std::string bytes) { send(frame::binary(std::move(bytes))); }
  /// Queues a ping.
  void ping(std::string payload = {}) { send(frame::ping(std::move(payload))); }
  /// Starts the close handshake; on_close reports its end.
  void close(std::uint16_t code = close_code::normal, std::string_view reason = {});
  /// False once the connection is closed or failed.
  bool is_open() const noexcept;
  /// The shared connection, for backends.
  const std::shared_ptr<state>& shared_state() const noexcept { return state_; }

 private:
  std::shared_ptr<state> state_;
};

/// Override what you need. Every callback runs on a backend I/O thread, one at a time per
/// connection; a slow callback delays reading (that is the backpressure of this handler).
class listener {
 public:
  virtual ~listener() = default;
  /// The upgrade succeeded; `out` may be kept for later sends.
  virtual void on_open(sender& /*out*/) {}
  /// Each data frame or fragment as it arrives (text/binary first, continuation after, fin on
  /// the last), already decompressed and, for text, UTF-8 validated.
  virtual void on_frame(const frame& /*f*/) {}
  /// Pongs are sent for pings automatically unless the handler turned auto_pong off.
  virtual void on_ping(const std::string& /*payload*/) {}
  /// A pong arrived.
  virtual void on_pong(const std::string& /*payload*/) {}
  /// The connection is closed: the peer's close frame (or 1006 and a description).
  virtual void on_close(const close_event& /*e*/) {}
  /// A protocol violation, a lost connection or a failed send. on_close follows. A violation
  /// comes after on_frame for every frame before it (what those callbacks sent goes out first).
  virtual void on_error(boost::system::error_code /*ec*/, const std::string& /*message*/) {}
};

}  // namespace courier::ws
