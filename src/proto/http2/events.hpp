// What an HTTP/2 client connection reports, stream by stream, as the server's bytes arrive.
#pragma once

#include <courier/headers.hpp>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace courier::proto::http2 {

using stream_id = std::int32_t;

/// An interim 1xx response (100 Continue, 103 Early Hints). More may follow, then the head.
struct informational_event {
  stream_id stream = 0;
  int status = 0;
  courier::headers headers;
};

/// The final response's status and header fields (pseudo-header fields left out).
struct response_head_event {
  stream_id stream = 0;
  int status = 0;
  courier::headers headers;
};

/// A piece of the body. Its bytes count against the stream's window until the driver calls
/// consumed() for them.
struct data_event {
  stream_id stream = 0;
  std::string data;
};

/// Trailer fields after the body; the stream ends right after.
struct trailers_event {
  stream_id stream = 0;
  courier::headers trailers;
};

/// The response is complete.
struct end_of_stream_event {
  stream_id stream = 0;
};

/// The stream ended without a complete response. Streams the driver cancelled report nothing.
struct stream_reset_event {
  stream_id stream = 0;
  /// The HTTP/2 error code, and its name ("REFUSED_STREAM").
  std::uint32_t code = 0;
  std::string code_name;
  /// True when the server sent the RST_STREAM; false when the client reset the stream because
  /// the response was malformed or over a limit (then `protocol_violation` says which).
  bool by_peer = false;
  /// The response broke HTTP/2 rules: a courier::protocol_error for the application.
  bool protocol_violation = false;
  /// The server did not process the request (REFUSED_STREAM, above a GOAWAY's last-stream-id,
  /// or never sent): it may be sent again on another connection, even a POST.
  bool safe_to_retry = false;
  /// A sentence for the application's error: which stream, what happened, the code's name.
  std::string message;
};

/// The server is shutting the connection down. No new stream may start on it; streams above
/// last_stream_id were not processed and each gets a stream_reset_event with safe_to_retry.
struct goaway_event {
  stream_id last_stream_id = 0;
  std::uint32_t code = 0;
  std::string code_name;
  std::string debug_data;
  /// The client's streams the server did not process (ids above last_stream_id).
  std::vector<stream_id> unprocessed_streams;
};

/// The connection failed: the server broke the protocol, went over a limit, or the bytes
/// stopped (receive_eof) while streams were open. No more events follow; every stream still
/// open is listed and is over.
struct connection_error_event {
  /// The code sent in our GOAWAY, or NO_ERROR when the connection just ended.
  std::uint32_t code = 0;
  std::string code_name;
  std::string message;
  std::vector<stream_id> failed_streams;
  /// The failure was the server breaking HTTP/2 rules (courier::protocol_error); otherwise the
  /// connection was lost (courier::read_error).
  bool protocol_violation = false;
};

using event =
    std::variant<informational_event, response_head_event, data_event, trailers_event,
                 end_of_stream_event, stream_reset_event, goaway_event, connection_error_event>;

}  // namespace courier::proto::http2
