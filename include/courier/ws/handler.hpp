// The handlers passed to open_websocket, and what it answers: websocket_response<T>.
#pragma once

#include <courier/headers.hpp>
#include <courier/ws/listener.hpp>
#include <courier/ws/options.hpp>
#include <courier/ws/websocket.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace courier {

/// The answer to open_websocket: the 101 response's status line and headers, and the
/// handler-specific value (a ws::websocket for the high-level handler, a ws::sender for a
/// listener).
template <class T>
struct websocket_response {
  int status = 101;
  std::string reason;
  courier::headers headers;
  std::optional<std::string> subprotocol;
  T result;
};

namespace ws {

/// What to do when the bounded buffer of incoming events is full.
enum class on_full {
  fail,          ///< the websocket fails with websocket_buffer_full and closes (1008)
  backpressure,  ///< stop reading the socket until the user catches up: nothing lost
};

struct buffer_options {
  /// Incoming events kept until received. nullopt: unbounded — a peer faster than the
  /// reader can then make it take all memory.
  std::optional<std::size_t> capacity = 1024;
  ws::on_full on_full = on_full::backpressure;
  /// Answer pings with pongs. When false, pings are surfaced and answering is up to you.
  bool auto_pong = true;
  /// Surface pings and pongs to receive() (pongs are still sent when auto_pong is on).
  bool surface_pings = false;
  /// When set, a receive (sync or async) that waits longer than this fails with timeout_error,
  /// taking nothing; the connection stays open and the next receive gets the next message.
  /// The receive members that take a timeout use theirs instead.
  std::optional<std::chrono::milliseconds> receive_timeout{};
  connection_options connection{};
};

/// The high-level handler: the response's value is a buffered ws::websocket.
struct high_level {
  using value_type = websocket;
  buffer_options options{};
};

/// The low-level handler: callbacks on `listener`, nothing buffered; the value is a ws::sender.
struct low_level {
  using value_type = sender;
  std::shared_ptr<ws::listener> listener{};
  connection_options connection{};
  bool auto_pong = true;
};

}  // namespace ws
}  // namespace courier
