// The Beast-based response parser that courier used before its own parser (kept verbatim, in
// namespace courier::fuzz_reference, with courier's own option and event types): the
// reference of fuzz/http1_parser_differential.cpp.
// An HTTP/1.1 response parser in the sans-I/O style: bytes in, events out. No sockets, no clocks.
#pragma once

#include "proto/http1/response_parser.hpp"

#include <courier/headers.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace courier::fuzz_reference {

// The same options and events as courier's parser, so that the two report in one vocabulary.
using courier::proto::http1::body_event;
using courier::proto::http1::end_event;
using courier::proto::http1::event;
using courier::proto::http1::head_event;
using courier::proto::http1::parser_options;

/// Parses one HTTP/1.x response at a time, built on Beast's buffer-oriented basic_parser.
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

}  // namespace courier::fuzz_reference
