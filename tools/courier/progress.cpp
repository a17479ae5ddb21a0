#include "progress.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace courier::cli {

std::string human_bytes(std::uint64_t bytes) {
  static constexpr std::array<const char*, 5> units{"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < units.size()) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  return buf;
}

std::string human_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  const auto total = static_cast<long long>(seconds + 0.5);
  const long long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buf[32];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", m, s);
  }
  return buf;
}

void speed_meter::sample(std::uint64_t bytes, double seconds) {
  window_.push_back({seconds, bytes});
  while (window_.size() > 2 && seconds - window_.front().seconds > 3.0)
    window_.pop_front();
}

double speed_meter::bytes_per_second() const noexcept {
  if (window_.empty()) return 0;
  const auto& last = window_.back();
  // With one sample, the average since the start.
  const point first = window_.size() > 1 ? window_.front() : point{0, 0};
  const double dt = last.seconds - first.seconds;
  if (dt <= 0 || last.bytes < first.bytes) return 0;
  return static_cast<double>(last.bytes - first.bytes) / dt;
}

std::string render_progress(const progress_state& state, int width, const palette& colours) {
  const std::string speed = human_bytes(static_cast<std::uint64_t>(state.bytes_per_second)) + "/s";
  if (!state.total || *state.total == 0) {
    return "  " + human_bytes(state.bytes) + "  " + speed + "  " +
           human_duration(state.elapsed_seconds);
  }
  const std::uint64_t total = *state.total;
  const double fraction =
      std::min(1.0, static_cast<double>(state.bytes) / static_cast<double>(total));
  std::string eta = "ETA -:--";
  if (state.bytes_per_second > 0 && state.bytes <= total) {
    eta =
        "ETA " + human_duration(static_cast<double>(total - state.bytes) / state.bytes_per_second);
  }
  char percent[8];
  std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
  const std::string tail =
      "  " + human_bytes(state.bytes) + " / " + human_bytes(total) + "  " + speed + "  " + eta;
  // The bar takes what the numbers leave, within reason.
  const int room = width - 1 - static_cast<int>(std::string_view(percent).size() + 3 + tail.size());
  if (room < 10) return std::string(percent) + tail;
  const int bar_width = std::min(room, 50);
  const int filled = static_cast<int>(fraction * bar_width);
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < bar_width) bar += '>';
  bar.resize(static_cast<std::size_t>(bar_width), ' ');
  return std::string(percent) + " [" + colours.paint(bar, palette::green) + "]" + tail;
}

std::string render_summary(std::uint64_t bytes, double seconds) {
  const double speed = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2f s", seconds);
  return human_bytes(bytes) + " in " + secs + " (" +
         human_bytes(static_cast<std::uint64_t>(speed)) + "/s)";
}

}  // namespace courier::cli
