// The download progress bar: size, speed and time left, drawn on one terminal line.
#pragma once

#include "terminal.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace courier::cli {

/// "512 B", "1.5 KiB", "8.0 MiB", ...
std::string human_bytes(std::uint64_t bytes);
/// "0:07", "12:34", "1:02:03".
std::string human_duration(double seconds);

/// Speed over the last three seconds (a sliding window), so the bar follows changes without
/// jumping with every write of the file being watched.
class speed_meter {
 public:
  /// `bytes` received in total at `seconds` since the start.
  void sample(std::uint64_t bytes, double seconds);
  /// Bytes per second; 0 before two samples.
  double bytes_per_second() const noexcept;

 private:
  struct point {
    double seconds;
    std::uint64_t bytes;
  };
  std::deque<point> window_;
};

struct progress_state {
  std::uint64_t bytes = 0;
  std::optional<std::uint64_t> total;  ///< from Content-Length, when known
  double elapsed_seconds = 0;
  double bytes_per_second = 0;
};

/// One line, at most `width` columns, no newline:
///   with a total:    " 45% [=========>           ]  3.6 MiB / 8.0 MiB  12.1 MiB/s  ETA 0:01"
///   without:         "  3.6 MiB  12.1 MiB/s  0:03"
std::string render_progress(const progress_state& state, int width, const palette& colours);

/// The line shown when the download is complete: "8.0 MiB in 0:01 (12.1 MiB/s)".
std::string render_summary(std::uint64_t bytes, double seconds);

}  // namespace courier::cli
