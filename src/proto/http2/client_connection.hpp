// The client side of an HTTP/2 connection (RFC 9113), sans I/O, on nghttp2: requests go in as
// heads and body pieces, bytes for the socket come out in batches; the server's bytes go in and
// per-stream events come out. No socket, thread or clock: the driver owns all three and calls
// in from one strand. nghttp2 stays inside the .cpp.
#pragma once

#include "proto/http2/connection_options.hpp"
#include "proto/http2/events.hpp"
#include "proto/http2/request_head.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace courier::proto::http2 {

class client_connection {
 public:
  /// Queues the connection preface and our SETTINGS (push disabled, the windows and header
  /// list size of `options`): take_output() has them at once.
  explicit client_connection(connection_options options = {});
  ~client_connection();
  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;

  // ---- requests ----

  /// Starts a request; returns its stream id. Many may be open at once; beyond the server's
  /// SETTINGS_MAX_CONCURRENT_STREAMS they wait inside (unsent) until a stream closes. Throws
  /// courier::invalid_header for a field HTTP/2 cannot carry, courier::invalid_request for a
  /// bad head, and courier::protocol_error when the connection no longer takes streams
  /// (can_submit() is false).
  stream_id submit_request(const request_head& head, request_body body = request_body::none);
  /// A request with its whole body at once.
  stream_id submit_request(const request_head& head, std::string body);
  /// The next piece of a request_body::supplied body; `end` marks the last (a piece may be
  /// empty). Sent as the stream and connection windows allow; until more is supplied the body
  /// waits. Ignored for a stream that is over. Throws courier::invalid_request after `end`.
  void supply_body(stream_id stream, std::string piece, bool end = false);
  /// Body bytes supplied but not yet sent: the driver supplies more once this is low.
  std::size_t body_buffered(stream_id stream) const noexcept;

  /// The application took `n` body bytes of `stream` from data_events: that much of the
  /// stream's and the connection's windows reopens (WINDOW_UPDATE). Nothing reopens by itself,
  /// so a slow reader holds at most its stream's window. Fine after the stream ended.
  void consumed(stream_id stream, std::size_t n);
  /// Stops a stream: RST_STREAM(CANCEL) when it was sent, dropped from the queue when not.
  /// The connection lives on; the stream reports no more events and its unconsumed bytes are
  /// given back to the connection window.
  void cancel(stream_id stream);
  /// Graceful shutdown: sends GOAWAY(NO_ERROR); no new streams, open ones run to their end.
  void shutdown();
  /// Starts the count of frames without progress (options.max_idle_frames) again. The core
  /// has no clock: a driver calls this as time passes (say each second), so that a server's
  /// keep-alive PINGs on a long-lived connection never add up to a flood.
  void forgive_idle_frames() noexcept;

  // ---- input ----

  /// Bytes from the server, any split. Events queue up for next_event(); the frames the input
  /// calls for (acknowledgements, WINDOW_UPDATEs, resets, a GOAWAY) are prepared at once, so
  /// call take_output() after it. Input after the connection failed is ignored.
  void receive(std::string_view bytes);
  /// The server closed the TCP stream: every open stream fails (connection_error_event).
  void receive_eof();
  /// The next event in arrival order, or nullopt.
  std::optional<event> next_event();

  // ---- output ----

  /// The bytes to write now, as one batch (whole frames, about options.max_output_batch at
  /// most); empty when there is nothing to send. Call again while wants_write().
  std::string take_output();
  /// Whether take_output() would return something.
  bool wants_write() const noexcept;

  // ---- state ----

  /// New requests are accepted: not failed, no GOAWAY sent or received.
  bool can_submit() const noexcept;
  /// Streams submitted and not yet over (queued ones included).
  std::size_t open_streams() const noexcept;
  /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (unbounded until its SETTINGS arrive).
  std::uint32_t peer_max_concurrent_streams() const noexcept;
  /// The connection failed, or it was shut down and every stream is over: write what
  /// take_output() has, then close TCP.
  bool done() const noexcept;

  const connection_options& options() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace courier::proto::http2
