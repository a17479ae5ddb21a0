// The shared state of a virtual_clock: the current time, the scheduled events, and the stubs
// that must have delivered what an event released before time moves on.
#pragma once

#include <courier/testing/virtual_clock.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace courier::testing::detail {

struct clock_state {
  using duration = virtual_clock::duration;
  using owner_id = std::uint64_t;

  explicit clock_state(bool is_automatic) : automatic(is_automatic) {}

  /// Runs `fire` (on the thread that moves time, without the clock's locks) once time reaches
  /// now + after. `owner` 0 belongs to no stub; a detached owner's events are dropped.
  void schedule(owner_id owner, duration after, std::function<void()> fire);
  /// A stub that uses the clock; `settle` returns once it has delivered what was released.
  owner_id attach(std::function<void()> settle);
  /// Forgets the stub and its events; once it returns, none of them is running.
  void detach(owner_id owner);
  /// Fires the next event if it is due at or before `limit` (any when nullopt).
  bool step(std::optional<duration> limit);
  /// Moves time to the next event and fires it; false when there is none.
  bool next() {
    std::lock_guard moving(firing);
    return step(std::nullopt);
  }

  const bool automatic;
  mutable std::mutex mutex;
  std::condition_variable moved;  // notified after each event
  duration now{0};
  std::uint64_t next_seq = 0;
  owner_id next_owner = 1;
  struct event {
    owner_id owner;
    std::function<void()> fire;
  };
  std::map<std::pair<duration, std::uint64_t>, event> events;  // by due time, then order
  std::map<owner_id, std::function<void()>> settlers;
  std::mutex firing;  // held while time moves: one mover at a time, and detach() waits for it
};

}  // namespace courier::testing::detail
