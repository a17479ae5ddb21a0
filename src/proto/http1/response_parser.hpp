// An HTTP/1.1 response parser in the sans-I/O style: bytes in, events out. No sockets, no clocks.
#pragma once

#include <courier/headers.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace courier::proto::http1 {

struct parser_options {
  /// The largest status line + header section, and the largest chunk line or trailer section.
  std::size_t max_header_size = std::size_t{64} << 10;
  /// The response has no body whatever its headers say: the answer to a HEAD request (or a
  /// 2xx answer to CONNECT). 1xx, 204 and 304 never have a body; that needs no option.
  bool expect_no_body = false;
};

/// The status line and headers of the final response (interim 1xx responses are skipped).
struct head_event {
  int status = 0;
  std::string reason;
  courier::headers headers;
  /// Whether the connection may carry another request once this response is complete.
  bool keep_alive = false;
  /// The length of the body that follows when it is known in advance: Content-Length, or 0 for
  /// a response without a body (HEAD, 204, 304, 101). nullopt for chunked and close-delimited.
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
};

/// A piece of the body, decoded from chunked framing but not from Content-Encoding. `data` views
/// the bytes given to feed(): valid while the caller keeps them, until the next call into the
/// parser. Drain the events before discarding or overwriting the consumed bytes.
struct body_event {
  std::string_view data;
};

/// The response is complete.
struct end_event {
  /// Whether the connection may carry another request.
  bool keep_alive = false;
  /// Trailer fields of a chunked body (usually none).
  courier::headers trailers;
};

using event = std::variant<head_event, body_event, end_event>;

/// Parses one HTTP/1.x response at a time, incrementally: complete lines are parsed where they lie
/// in the input, and only a line cut by the end of the input is copied aside.
/// feed() consumes bytes and queues events; next_event() hands them out in order. The body is
/// streamed: the parser never holds it, so its memory use does not grow with the body.
///
/// A 101 Switching Protocols response ends the message after its head (keep_alive is false):
/// the bytes after it belong to the new protocol and are left unconsumed.
class response_parser {
 public:
  explicit response_parser(parser_options options = {});
  ~response_parser();
  response_parser(response_parser&&) noexcept;
  response_parser& operator=(response_parser&&) noexcept;

  /// Feeds bytes; returns how many were consumed. Every byte is consumed (incomplete lines are
  /// kept inside) until the response ends: the bytes after its end are not consumed and belong
  /// to the next response. Throws courier::protocol_error on malformed input and
  /// courier::body_too_large when the header section passes max_header_size. After a throw the
  /// connection is unusable: further calls throw again until reset().
  std::size_t feed(std::string_view data);
  /// The peer closed the connection. Completes a close-delimited body; anywhere else before the
  /// end of the response it throws courier::read_error saying how far the response got.
  void feed_eof();
  /// The next event, or nullopt when more bytes are needed (or the response is done).
  std::optional<event> next_event();
  /// next_event() without the copy: the next event where the parser keeps it, or nullptr. The
  /// caller may move from it; it stays valid until the next call into the parser.
  event* take_event() noexcept;

  /// The final response is complete (its end_event is queued or was handed out).
  bool done() const noexcept;
  /// Some byte of a response was consumed. When false at EOF on a reused connection, the server
  /// closed it before answering, and an idempotent request may be retried elsewhere.
  bool started() const noexcept;
  /// Interim 1xx responses skipped so far. A request sent with "Expect: 100-continue" may send
  /// its body once this is non-zero (or a final response arrived: then it must not).
  int interim_responses() const noexcept;
  /// Body bytes of the final response seen so far (after chunked framing is removed).
  std::uint64_t body_bytes() const noexcept;

  /// Prepares for the next response on the same connection.
  void reset(parser_options options = {});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace courier::proto::http1
