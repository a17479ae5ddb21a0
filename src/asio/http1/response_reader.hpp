// Reads one HTTP/1.1 response off one connection into the request's destination. It never
// waits: whoever drives it (a blocking call reading on its own thread, or a coroutine on a
// reactor) reads into space() and hands the count to took(), so both paths share one parser
// loop, one set of sinks and decoders, and one way of giving the connection back.
#pragma once

#include "asio/backend_impl.hpp"
#include "asio/http/stream_progress.hpp"

#include "core/content_decoder.hpp"
#include "proto/http1/response_parser.hpp"

#include <courier/response.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace courier::asio_detail {

class stream_response;
class body_sink;

/// What one request on one connection brought back, besides its head and body (written into
/// the caller's raw_response).
struct hop_result {
  bool redirect = false;  // a redirect that will be followed: its body was dropped
  std::optional<std::string> location;
  std::shared_ptr<detail::body_stream_source> stream;  // to_stream: the unread body, handed out
};

/// Thrown when a reused connection failed before any byte of the response arrived: the server
/// had closed it while it was idle, and the request may go again on a fresh one.
struct connection_failure {
  /// The request had been written: the server may have received it (see retry_policy.hpp).
  bool request_sent = false;
};

class response_reader {
 public:
  /// `where` (host:port) names the peer in messages and must outlive the reader; so must
  /// `options`, `progress`, `dest` and `out`, which receives the head and, for the memory
  /// destination, the body. `may_retry`: a failure before the first response byte throws
  /// connection_failure.
  response_reader(asio_backend::impl& backend, const request_options& options,
                  const progress_callback* progress, transport& conn, bool head_only,
                  const body_destination& dest, raw_response& out, const std::string& where,
                  bool may_retry);
  ~response_reader();
  response_reader(const response_reader&) = delete;
  response_reader& operator=(const response_reader&) = delete;

  /// Parses what has been read. True when no more reads are needed: the response ended, or
  /// (as_stream) its final head arrived and the rest is the caller's to pull.
  bool parse();
  /// Where the next read goes (the buffer grows for long heads and fast bodies).
  net::mutable_buffer space();
  /// The outcome of a read into space(). Throws read_error, or connection_failure when
  /// `may_retry` and nothing had arrived. A timeout is the driver's to report (it knows the
  /// deadlines).
  void took(std::size_t n, const boost::system::error_code& ec);
  /// After parse() returned true: hands the connection back to the pool (or to the stream of
  /// an as_stream response) and returns the result.
  hop_result finish(std::unique_ptr<transport>& conn);

 private:
  void take_events();
  void on_head(proto::http1::head_event& h);
  // The rarer parts of on_head, deliver, parse, took and finish, kept out of their lines.
  bool on_redirect_head(const proto::http1::head_event& h);
  std::size_t open_destination(int status);
  void use_decoder(std::string_view encoding, std::size_t limit);
  void deliver_elsewhere(std::string_view data);
  bool parse_at_eof();
  void read_failed(const boost::system::error_code& ec);  // throws, or notes the end of input
  [[noreturn]] void too_large();
  hop_result finish_streaming(std::unique_ptr<transport>& conn);
  void finish_transformed();
  void deliver(std::string_view data);
  /// Body bytes (decoded) to the sink, or to out_.body when the body is kept in memory.
  void write(std::string_view data);

  asio_backend::impl& backend_;
  const request_options& options_;
  const progress_callback* progress_callback_;
  transport& conn_;
  const body_destination& dest_;
  raw_response& out_;
  const std::string& where_;
  const bool may_retry_;

  proto::http1::response_parser& parser_;  // the connection's (transport::parser)
  std::vector<char>& buffer_;              // the connection's (transport::read_buffer)
  std::size_t buffered_ = 0;               // bytes in buffer_ not yet consumed by the parser
  bool eof_ = false;
  bool any_response_byte_ = false;
  bool keep_alive_ = false;
  bool complete_ = false;
  bool streaming_ = false;  // the final head arrived for as_stream: hand out the rest
  hop_result result_;
  std::unique_ptr<body_sink> sink_;  // a file or nothing; null for memory (and a stream)
  std::string early_body_;           // body bytes parsed along with the head, for the stream
  std::optional<std::uint64_t> content_length_;
  progress_reporter progress_;
  std::unique_ptr<detail::content_decoder> decoder_;
  std::string decoded_;
  std::size_t drained_ = 0;  // bytes of a followed redirect's body, dropped
};

}  // namespace courier::asio_detail
