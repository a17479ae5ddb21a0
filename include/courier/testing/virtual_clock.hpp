// Virtual time for stub_backend: delays and timeouts pass when the test moves the clock, not on
// the wall clock, so "answers after 30 s" is tested in milliseconds.
//
//   courier::testing::virtual_clock clock;          // automatic: a blocked call moves time
//   courier::testing::stub_backend stub(clock);
//   stub.when_any().respond(200, "late").delay(30s);
//   request.send(stub);                             // returns at once; clock.now() == 30s
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

namespace courier::testing {

namespace detail {
struct clock_state;
}

/// A clock that moves only when told. The waits of the stub_backends made with it (answer
/// delays, WebSocket upgrades' included, the read timeouts they run into, and an open
/// WebSocket's timers: keep-alive pings, pong, close and async receive timeouts) and every
/// sleep_for() wait for virtual time. Events due at the same time run in the order they were
/// scheduled. Copies share one clock. Thread-safe.
class virtual_clock {
 public:
  /// Virtual time is counted in milliseconds, the unit of courier's delays and timeouts.
  using duration = std::chrono::milliseconds;

  /// Who moves time: a blocked call (automatic) or only the test (manual).
  enum class mode {
    /// A blocking call that waits on the clock (send, open_websocket, sleep_for) moves
    /// time straight to the next due event, as often as it takes to return.
    automatic,
    /// Time moves only through advance() and advance_to_next(), from another thread when a
    /// blocking call waits.
    manual,
  };

  /// A clock at virtual time 0.
  explicit virtual_clock(mode m = mode::automatic);

  /// The virtual time elapsed since the clock was made.
  duration now() const;
  /// Moves time forward by `d`, running what falls due on the way in order, each at its own
  /// time. Returns once the stubs have delivered what fell due (when called from a stub's
  /// handler, without waiting for that).
  void advance(duration d);
  /// Moves time to the next due event and runs it; false (and no move) when nothing is due.
  bool advance_to_next();
  /// Blocks until virtual time has moved on by `d` (for code under test that takes a sleep
  /// function: a retry's back-off, a poll interval). In automatic mode it moves time itself.
  void sleep_for(duration d);
  /// How many waits are scheduled.
  std::size_t pending() const;
  /// The mode the clock was made with.
  mode advance_mode() const noexcept;

  /// The shared state behind the clock, for the stub backend that waits on it.
  const std::shared_ptr<detail::clock_state>& state() const noexcept { return state_; }

 private:
  std::shared_ptr<detail::clock_state> state_;
};

}  // namespace courier::testing
