// Calls a request's progress callback at a bounded rate. Time is passed in, so the rule is
// testable without clocks (tests/unit/stream_progress_test.cpp).
#pragma once

#include <courier/progress.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

namespace courier::asio_detail {

class progress_reporter {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  progress_reporter() = default;  // reports nothing
  progress_reporter(const progress_callback* callback, transfer_progress::direction dir,
                    std::chrono::milliseconds interval)
      : callback_(callback && *callback ? callback : nullptr), interval_(interval) {
    state_.dir = dir;
  }

  void set_total(std::optional<std::uint64_t> total) { state_.total = total; }
  /// False when there is no callback: callers may skip reading the clock.
  bool reports() const noexcept { return callback_ != nullptr; }
  std::uint64_t bytes() const noexcept { return state_.bytes; }

  /// `n` more bytes moved at `now`: calls back when the last call is at least an interval ago
  /// (the first bytes are reported at once).
  void add(std::uint64_t n, time_point now) {
    state_.bytes += n;
    if (!callback_ || state_.done) return;
    if (last_ && now - *last_ < interval_) return;
    last_ = now;
    (*callback_)(state_);
  }
  /// The transfer finished: the final call (once).
  void finish() {
    if (!callback_ || state_.done) return;
    state_.done = true;
    (*callback_)(state_);
  }

 private:
  const progress_callback* callback_ = nullptr;
  std::chrono::milliseconds interval_{100};
  std::optional<time_point> last_;
  transfer_progress state_;
};

}  // namespace courier::asio_detail
