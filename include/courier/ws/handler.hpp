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
  /// The status of the upgrade's answer: 101.
  int status = 101;
  /// The reason phrase.
  std::string reason;
  /// The headers of the 101 response.
  courier::headers headers;
  /// The subprotocol the server chose, if any.
  std::optional<std::string> subprotocol;
  /// The open connection: a ws::websocket or a ws::sender.
  T result;
};

namespace ws {

/// What to do when the bounded buffer of incoming events is full.
enum class on_full {
  fail,          ///< the websocket fails with websocket_buffer_full and closes (1008)
  backpressure,  ///< stop reading the socket until the user catches up: nothing lost
};

/// How a high-level websocket buffers incoming events, and its connection options.
struct buffer_options {
  /// Incoming events kept until received. nullopt: unbounded — a peer faster than the
  /// reader can then make it take all memory.
  std::optional<std::size_t> capacity = 1024;
  /// What happens when the buffer is full.
  ws::on_full on_full = on_full::backpressure;
  /// Answer pings with pongs. When false, pings are surfaced and answering is up to you.
  bool auto_pong = true;
  /// Surface pings and pongs to receive() (pongs are still sent when auto_pong is on).
  bool surface_pings = false;
  /// When set, a receive (sync or async) that waits longer than this fails with timeout_error,
  /// taking nothing; the connection stays open and the next receive gets the next message.
  /// The receive members that take a timeout use theirs instead.
  std::optional<std::chrono::milliseconds> receive_timeout{};
  /// Subprotocols, compression, limits, timeouts and pings.
  connection_options connection{};
};

/// The high-level handler: the response's value is a buffered ws::websocket.
struct high_level {
  /// open_websocket gives a buffered ws::websocket.
  using value_type = websocket;
  /// The buffer and connection options.
  buffer_options options{};
};

/// The low-level handler: callbacks on `listener`, nothing buffered; the value is a ws::sender.
struct low_level {
  /// open_websocket gives a ws::sender.
  using value_type = sender;
  /// Receives the connection's events on the I/O thread; must not be null.
  std::shared_ptr<ws::listener> listener{};
  /// Subprotocols, compression, limits, timeouts and pings.
  connection_options connection{};
  /// Answer pings with pongs automatically.
  bool auto_pong = true;
};

}  // namespace ws
}  // namespace courier
