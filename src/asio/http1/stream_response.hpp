// The body_stream behind as_stream() on the asio backend: the connection, parser and decoder of
// an exchange whose head has been handed to the caller. The socket is read only when the caller
// asks for bytes and none are buffered: that is the backpressure, and it bounds memory.
#pragma once

#include "asio/backend_impl.hpp"
#include "asio/http/stream_progress.hpp"
#include "core/content_decoder.hpp"
#include "proto/http1/response_parser.hpp"

#include <courier/body_stream.hpp>

#include <boost/asio/strand.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace courier::asio_detail {

/// What an exchange hands over once the final head is read.
struct stream_response_parts {
  std::shared_ptr<asio_backend::impl> backend;
  std::unique_ptr<transport> conn;
  proto::http1::response_parser parser;
  std::vector<char> buffer;  // raw bytes read from the socket...
  std::size_t buffered = 0;  // ...of which these are not yet fed to the parser
  std::string body;          // body bytes parsed but not yet decoded or handed out
  std::unique_ptr<detail::content_decoder> decoder;
  bool keep_alive = false;
  bool complete = false;  // the parser saw the end of the body
  bool eof = false;       // the peer closed
  std::string where;      // host:port, for messages
  std::chrono::milliseconds read_timeout{60'000};
  std::optional<std::uint64_t> content_length;
  progress_callback progress;
  std::chrono::milliseconds progress_interval{100};
  courier::headers trailers;  // a chunked body's, once complete
};

class stream_response final : public detail::body_stream_source,
                              public std::enable_shared_from_this<stream_response> {
 public:
  explicit stream_response(stream_response_parts parts);
  /// Closes the connection unless the body was read to its end (then it went back to the pool).
  ~stream_response() override;

  std::size_t read_some(std::span<char> buffer) override;
  void async_read_some(std::span<char> buffer, read_handler done) override;
  std::uint64_t bytes_received() const noexcept override { return received_.load(); }
  bool at_end() const noexcept override { return at_end_.load(); }
  courier::headers trailers() const override {
    return at_end_.load() ? p_.trailers : courier::headers{};
  }

 private:
  net::awaitable<std::size_t> fill(std::span<char> out);
  net::awaitable<std::size_t> fill_unguarded(std::span<char> out);
  /// Hands out what needs no socket read (buffered, parsed or decoded bytes; the end): the count,
  /// 0 at the end of the body, nullopt when the socket must be read.
  std::optional<std::size_t> take_buffered(std::span<char> out);
  void take_events();
  void finish_body();
  void give_up() noexcept;

  stream_response_parts p_;
  net::strand<net::io_context::executor_type> strand_;
  progress_reporter reporter_;
  std::size_t decoded_from_ = 0;  // p_.body[0, decoded_from_) was already decoded
  std::string ready_;             // decoded bytes ready for the caller
  std::size_t ready_from_ = 0;
  bool finished_ = false;  // the body ended and the connection was released
  std::exception_ptr failed_;
  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<bool> at_end_{false};
};

}  // namespace courier::asio_detail
