// An ordered, reliable stream of bytes that the WebSocket code reads and writes: a TCP or TLS
// connection (transport), or an in-memory pipe whose other end is a scripted server (the stub
// backend). The upgrade and the session see only this interface.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <string_view>
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
  /// Writes what the stream takes at once, without waiting and on the calling thread, while
  /// another thread may be reading: the bytes written (0 when it would block, or when the
  /// stream cannot do this and needs write()). Never call it while a write() is in progress.
  virtual std::size_t try_write_now(std::string_view bytes, boost::system::error_code& ec) {
    (void)bytes;
    ec.clear();
    return 0;
  }
  /// True when a caller's thread can read the stream itself (read_blocking on a descriptor):
  /// a plain TCP connection, not TLS or an in-memory pipe.
  virtual bool supports_caller_reads() const noexcept { return false; }
  /// The descriptor for read_blocking(), -1 once closed. With `detach` (no async operation may
  /// be pending then) the stream also leaves the reactor, so that arrivals no longer wake an
  /// I/O thread.
  virtual int fd_for_caller_reads(bool detach) noexcept {
    (void)detach;
    return -1;
  }
  /// Registers the stream with the reactor again before async operations (after
  /// detach_for_caller_reads); call it where no other thread uses the stream.
  virtual void attach_for_async() {}
  /// Wakes a thread blocked reading the stream (EOF) without closing it yet.
  virtual void shut_down() noexcept { close(); }
  /// Cancels pending reads and writes (they complete with operation_aborted).
  virtual void cancel() noexcept = 0;
  virtual void close() noexcept = 0;
  virtual bool is_open() const noexcept = 0;
};

}  // namespace courier::asio_detail
