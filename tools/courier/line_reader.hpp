// Lines from a file descriptor (standard input), in a way another thread can interrupt: it
// waits with poll() in short steps and gives up when asked to stop.
#pragma once

#include <atomic>
#include <optional>
#include <string>

namespace courier::cli {

class line_reader {
 public:
  explicit line_reader(int fd) : fd_(fd) {}

  /// The next line without its "\n" or "\r\n" (a last line without one counts too); nullopt at
  /// the end of input, on a read error, or once `stop` is set.
  std::optional<std::string> next(const std::atomic<bool>& stop);

 private:
  std::optional<std::string> take_line();

  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace courier::cli
