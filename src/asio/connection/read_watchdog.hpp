// Bounds the blocking reads a caller's thread makes (transport::read_some_here) without a
// kernel timer per read. A recv() under SO_RCVTIMEO arms and cancels a timer in the kernel
// each time it waits: about 4% of a keep-alive request's CPU (bench/README.md). Instead, one
// thread per process looks at the armed deadlines every few milliseconds and shuts down the
// socket of a read that outlived its deadline; the read returns, and reports the timeout.
#pragma once

#include "asio/connection/coarse_clock.hpp"

#include <atomic>
#include <cstdint>

namespace courier::asio_detail {

/// One socket's blocking reads, as the watchdog sees them. Used by one thread at a time.
class read_watch {
 public:
  read_watch() = default;
  ~read_watch();
  read_watch(const read_watch&) = delete;
  read_watch& operator=(const read_watch&) = delete;

  /// Before a blocking read of `fd`: once `deadline` passes, the watchdog shuts `fd` down.
  void arm(int fd, coarse_clock::time_point deadline);
  /// After the read: true when the watchdog shut the socket down (the read timed out). Returns
  /// only once the watchdog is done with the descriptor, which may then be closed.
  bool disarm() noexcept;

 private:
  friend class read_watchdog;
  // idle, a deadline (nanoseconds of coarse_clock, > 0), or the watchdog's firing and fired.
  static constexpr std::int64_t idle = 0, firing = -1, fired = -2;
  std::atomic<std::int64_t> state_{idle};
  int fd_ = -1;
  bool listed_ = false;  // known to the watchdog
};

}  // namespace courier::asio_detail
