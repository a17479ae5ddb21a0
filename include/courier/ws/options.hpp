// How a WebSocket connection behaves: subprotocols, compression, limits, keep-alive, close.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace courier::ws {

/// permessage-deflate (RFC 7692) parameters to offer.
struct compression_options {
  /// Ask the client to reset its compression context after each message (less memory,
  /// larger messages).
  bool client_no_context_takeover = false;
  /// Ask the server to reset its compression context after each message.
  bool server_no_context_takeover = false;
  std::optional<int> client_max_window_bits{};  ///< 8..15
  std::optional<int> server_max_window_bits{};  ///< 8..15
};

/// What to do when the outgoing queue holds max_outgoing_bytes not yet written.
enum class outgoing_full {
  wait,   ///< sync sends block and async sends complete later, until the queue drains
  fail,   ///< the send fails with websocket_buffer_full; the connection stays open
  close,  ///< the connection is closed with 1008 and the send fails
};

/// Settings of one WebSocket connection: subprotocols, compression, limits, timeouts,
/// pings, fragmentation and the outgoing queue.
struct connection_options {
  /// Offered in Sec-WebSocket-Protocol, in order of preference. A reply naming any other fails
  /// the upgrade.
  std::vector<std::string> subprotocols{};
  /// Offer permessage-deflate. Off by default.
  std::optional<compression_options> compression{};
  /// An incoming message larger than this closes the connection with 1009.
  std::size_t max_message_size = std::size_t{16} << 20;
  /// How long close() waits for the peer's close frame before dropping the connection. Also
  /// the longest a protocol violation is held back behind the messages that came before it
  /// (until a receive asks for what follows them); then the close frame goes out regardless.
  std::chrono::milliseconds close_timeout{std::chrono::seconds(5)};
  /// Send a ping this often when set (from one ping to the next); a pong must come back
  /// within pong_timeout or the connection is failed (a dead peer is noticed).
  std::optional<std::chrono::milliseconds> ping_interval{};
  /// How long a pong may take after a ping_interval ping.
  std::chrono::milliseconds pong_timeout{std::chrono::seconds(10)};
  /// When set, data frames with a longer payload are sent as several frames of at most this
  /// many bytes (fragments, RFC 6455 5.4): the peer can start on a large message while the rest
  /// is still being written. 0 (the default) sends every frame whole, as given.
  std::size_t fragment_size = 0;
  /// Bytes queued for sending but not yet written, and what happens past it.
  std::size_t max_outgoing_bytes = std::size_t{16} << 20;
  /// What a send does when the outgoing queue is full.
  outgoing_full on_outgoing_full = outgoing_full::wait;
};

}  // namespace courier::ws
