// The body_stream behind as_stream() over HTTP/2: the rest of one stream's body, taken from
// its events as the caller reads. A stream's window reopens only as its bytes are taken, so a
// slow reader holds at most one window and the other streams of the connection go on.
#pragma once

#include "asio/http/stream_progress.hpp"
#include "asio/http2/h2_connection.hpp"

#include "core/content_decoder.hpp"

#include <courier/body_stream.hpp>
#include <courier/response_head.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace courier::asio_detail {

class h2_body_stream final : public detail::body_stream_source,
                             public std::enable_shared_from_this<h2_body_stream> {
 public:
  /// Async reads complete on `strand` (of the backend's io_context).
  h2_body_stream(net::any_io_executor strand, std::shared_ptr<h2_connection> conn,
                 std::shared_ptr<h2_stream> stream,
                 std::unique_ptr<detail::content_decoder> decoder, std::string where,
                 std::chrono::milliseconds read_timeout, std::optional<std::uint64_t> length,
                 progress_callback progress, std::chrono::milliseconds progress_interval);
  /// Resets the stream unless its body was read to the end.
  ~h2_body_stream() override;

  std::size_t read_some(std::span<char> buffer) override;
  void async_read_some(std::span<char> buffer, read_handler done) override;
  std::uint64_t bytes_received() const noexcept override { return received_.load(); }
  bool at_end() const noexcept override { return at_end_.load(); }
  courier::headers trailers() const override;

 private:
  // What can be handed out without waiting: a count (0 at the end), or nullopt.
  std::optional<std::size_t> take_ready(std::span<char> out);
  net::awaitable<std::size_t> fill(std::span<char> out);
  [[noreturn]] void timed_out() const;

  net::any_io_executor strand_;
  std::shared_ptr<h2_connection> conn_;
  std::shared_ptr<h2_stream> stream_;
  std::unique_ptr<detail::content_decoder> decoder_;
  std::string where_;
  std::chrono::milliseconds read_timeout_;
  progress_callback progress_callback_;
  progress_reporter progress_;
  std::string ready_;
  std::size_t ready_from_ = 0;
  bool ended_ = false;
  std::exception_ptr failed_;
  courier::headers trailers_;  // complete once at_end_ is set
  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<bool> at_end_{false};
};

}  // namespace courier::asio_detail
