#include <courier/testing/virtual_clock.hpp>

#include "testing/clock_state.hpp"

#include <vector>

namespace courier::testing {

namespace detail {

namespace {
// now + d, saturated: a wait of milliseconds::max() is due never rather than in the past.
clock_state::duration later(clock_state::duration now, clock_state::duration d) {
  d = std::max(d, clock_state::duration{0});
  return d > clock_state::duration::max() - now ? clock_state::duration::max() : now + d;
}
}  // namespace

void clock_state::schedule(owner_id owner, duration after, std::function<void()> fire) {
  std::lock_guard lock(mutex);
  // A stub detached already (being destroyed) schedules nothing: the event could outlive
  // what it refers to, and would never be due to it anyway.
  if (owner != 0 && !settlers.contains(owner)) return;
  events.emplace(std::pair(later(now, after), next_seq++), event{owner, std::move(fire)});
}

clock_state::owner_id clock_state::attach(std::function<void()> settle) {
  std::lock_guard lock(mutex);
  settlers.emplace(next_owner, std::move(settle));
  return next_owner++;
}

void clock_state::detach(owner_id owner) {
  std::lock_guard moving(firing);
  std::lock_guard lock(mutex);
  settlers.erase(owner);
  std::erase_if(events, [owner](const auto& e) { return e.second.owner == owner; });
}

bool clock_state::step(std::optional<duration> limit) {
  std::function<void()> fire;
  std::vector<std::function<void()>> settle;
  {
    std::lock_guard lock(mutex);
    if (events.empty()) return false;
    auto first = events.begin();
    if (limit && first->first.first > *limit) return false;
    now = std::max(now, first->first.first);
    fire = std::move(first->second.fire);
    events.erase(first);
    for (const auto& s : settlers)
      settle.push_back(s.second);
  }
  fire();
  // Whatever the event released has run before time moves again, so a wait it starts is
  // measured from the event's time.
  for (const auto& s : settle)
    s();
  moved.notify_all();
  return true;
}

}  // namespace detail

virtual_clock::virtual_clock(mode m)
    : state_(std::make_shared<detail::clock_state>(m == mode::automatic)) {}

virtual_clock::duration virtual_clock::now() const {
  std::lock_guard lock(state_->mutex);
  return state_->now;
}

void virtual_clock::advance(duration d) {
  std::lock_guard moving(state_->firing);
  duration target;
  {
    std::lock_guard lock(state_->mutex);
    target = detail::later(state_->now, d);
  }
  while (state_->step(target)) {
  }
  {
    std::lock_guard lock(state_->mutex);
    state_->now = std::max(state_->now, target);
  }
  state_->moved.notify_all();
}

bool virtual_clock::advance_to_next() {
  return state_->next();
}

void virtual_clock::sleep_for(duration d) {
  auto woken = std::make_shared<bool>(false);
  auto* state = state_.get();
  state_->schedule(0, d, [state, woken] {
    std::lock_guard lock(state->mutex);
    *woken = true;
  });
  std::unique_lock lock(state_->mutex);
  while (!*woken) {
    if (!state_->automatic) {
      state_->moved.wait(lock);
      continue;
    }
    lock.unlock();
    // Another thread may be moving time: then wait for it rather than spin.
    if (!advance_to_next()) {
      lock.lock();
      state_->moved.wait_for(lock, std::chrono::milliseconds(5));
      continue;
    }
    lock.lock();
  }
}

std::size_t virtual_clock::pending() const {
  std::lock_guard lock(state_->mutex);
  return state_->events.size();
}

virtual_clock::mode virtual_clock::advance_mode() const noexcept {
  return state_->automatic ? mode::automatic : mode::manual;
}

}  // namespace courier::testing
