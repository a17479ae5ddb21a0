// An in-memory byte_stream pair: what one end writes, the other reads. The stub backend runs
// the real WebSocket client code on one end and a scripted server on the other.
#pragma once

#include "asio/connection/byte_stream.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace courier::testing::detail {

/// One direction of the pipe: bytes written and not yet read, and the reader waiting for more.
class memory_channel {
 public:
  explicit memory_channel(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

  /// False when the reading end is closed (the bytes are dropped).
  bool write(std::string_view bytes);
  /// The reader sees eof once the bytes before it are read.
  void close_writer();
  /// Drops unread bytes; later writes fail. A waiting reader is woken.
  void close_reader();
  /// Copies up to `n` bytes; `eof` is set when none are left and the writer closed.
  std::size_t take(char* out, std::size_t n, bool& eof);
  /// Completes a pending wait with operation_aborted.
  void cancel_wait();
  /// Destroys a pending wait without running it (the io_context is gone).
  void abandon();

  /// Completes (void(error_code)) when bytes or eof can be read.
  template <class Token>
  auto async_wait(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) { start_wait(waiter(std::move(handler))); }, token);
  }

 private:
  using waiter = boost::asio::any_completion_handler<void(boost::system::error_code)>;
  void start_wait(waiter w);
  void complete(waiter w, boost::system::error_code ec);
  void wake(boost::system::error_code ec);

  boost::asio::any_io_executor ex_;
  std::mutex mutex_;
  std::string bytes_;
  bool writer_closed_ = false;
  bool reader_closed_ = false;
  std::optional<waiter> waiter_;
};

class memory_stream final : public asio_detail::byte_stream {
 public:
  memory_stream(std::shared_ptr<memory_channel> in, std::shared_ptr<memory_channel> out)
      : in_(std::move(in)), out_(std::move(out)) {}
  ~memory_stream() override { close(); }

  boost::asio::awaitable<std::size_t> write(const std::vector<boost::asio::const_buffer>& buffers,
                                            boost::system::error_code& ec) override;
  boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer,
                                                boost::system::error_code& ec) override;
  void cancel() noexcept override;
  void close() noexcept override;
  bool is_open() const noexcept override { return open_; }

 private:
  std::shared_ptr<memory_channel> in_, out_;
  std::atomic<bool> open_{true};
};

/// Two connected ends: first is the client's, second the server's.
struct memory_pipe {
  std::unique_ptr<memory_stream> client, server;
  std::shared_ptr<memory_channel> to_server, to_client;
};
memory_pipe make_memory_pipe(const boost::asio::any_io_executor& ex);

}  // namespace courier::testing::detail
