#include "line_reader.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace courier::cli {

std::optional<std::string> line_reader::take_line() {
  const auto end = buffer_.find('\n');
  if (end == std::string::npos) {
    if (!eof_ || buffer_.empty()) return std::nullopt;
    std::string last = std::move(buffer_);
    buffer_.clear();
    if (!last.empty() && last.back() == '\r') last.pop_back();
    return last;
  }
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::optional<std::string> line_reader::next(const std::atomic<bool>& stop) {
  for (;;) {
    if (auto line = take_line()) return line;
    if (eof_ || stop) return std::nullopt;
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) return std::nullopt;
    if (ready <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      eof_ = true;
      continue;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace courier::cli
