// An ordered, reliable stream of bytes that the WebSocket code reads and writes: a TCP or TLS
// connection (transport), or an in-memory pipe whose other end is a scripted server (the stub
// backend). The upgrade and the session see only this interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <vector>

namespace courier::asio_detail {

class byte_stream {
 public:
  virtual ~byte_stream() = default;

  /// Writes all of the buffers; a failure is reported in `ec` (never thrown).
  virtual boost::asio::awaitable<std::size_t> write(
      const std::vector<boost::asio::const_buffer>& buffers, boost::system::error_code& ec) = 0;
  /// Reads at least one byte, or reports eof / an error in `ec`.
  virtual boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer,
                                                        boost::system::error_code& ec) = 0;
  /// Cancels pending reads and writes (they complete with operation_aborted).
  virtual void cancel() noexcept = 0;
  virtual void close() noexcept = 0;
  virtual bool is_open() const noexcept = 0;
};

}  // namespace courier::asio_detail
