#include "asio/connection/connection_pool.hpp"
#include "core/hot_path.hpp"

#include <courier/error.hpp>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace courier::asio_detail {

net::awaitable<std::unique_ptr<transport>> connection_pool::acquire(const std::string& origin,
                                                                    clock::time_point until,
                                                                    bool can_resend) {
  for (;;) {
    std::shared_ptr<net::steady_timer> timer;
    {
      std::lock_guard lock(mutex_);
      auto& p = origins_[origin];
      if (auto t = pop_idle(p, can_resend)) co_return t;
      if (p.open < max_per_origin_) {
        ++p.open;
        co_return nullptr;
      }
      timer = std::make_shared<net::steady_timer>(co_await net::this_coro::executor);
      timer->expires_at(until);
      p.waiters.push_back(timer);
    }
    // A wait that does not end (the exchange was cancelled before it began, or its coroutine
    // is destroyed with its io_context) leaves the queue, so that no release touches the
    // timer of a context that is gone.
    struct leave_unless_ended {
      connection_pool& pool;
      const std::string& origin;
      const std::shared_ptr<net::steady_timer>& timer;
      bool ended = false;
      ~leave_unless_ended() {
        if (!ended) pool.leave_waiters(origin, timer);
      }
    } waiting{*this, origin, timer};
    boost::system::error_code ec;
    co_await timer->async_wait(net::redirect_error(net::use_awaitable, ec));
    waiting.ended = true;
    if (!ec) {  // the deadline passed before a connection was free
      std::lock_guard lock(mutex_);
      origins_[origin].waiters.remove(timer);
      throw timeout_error("timed out waiting for a free connection to " + origin + " (all " +
                          std::to_string(max_per_origin_) + " are busy)");
    }
    if ((co_await net::this_coro::cancellation_state).cancelled() != net::cancellation_type::none) {
      leave_waiters(origin, timer);
      throw operation_aborted(
          "the request was cancelled while it waited for a free connection to " + origin);
    }
    // Woken by a release; look again.
  }
}

void connection_pool::leave_waiters(const std::string& origin,
                                    const std::shared_ptr<net::steady_timer>& timer) {
  std::lock_guard lock(mutex_);
  auto& p = origins_[origin];
  // Already taken off by a release that meant to wake it: that wake goes to the next waiter.
  if (p.waiters.remove(timer) == 0) wake_one(p);
}

COURIER_HOT std::unique_ptr<transport> connection_pool::pop_idle(per_origin& p, bool can_resend) {
  const auto now = coarse_clock::now();
  while (!p.idle.empty()) {
    auto t = std::move(p.idle.back());
    p.idle.pop_back();
    const auto idle = now - t->idle_since;
    if (idle < idle_timeout_ && ((can_resend && idle < recently_used) || !t->looks_dead())) {
      return t;
    }
    t->close();  // expired or closed by the server: drop it and free its slot
    --p.open;
  }
  return nullptr;
}

COURIER_HOT std::unique_ptr<transport> connection_pool::take_idle(const std::string& origin,
                                                                  bool can_resend) {
  std::lock_guard lock(mutex_);
  const auto it = origins_.find(origin);
  if (it == origins_.end()) return nullptr;
  auto t = pop_idle(it->second, can_resend);
  // Dropping dead connections freed slots that a waiter may take.
  if (!t && !it->second.waiters.empty()) wake_one(it->second);
  return t;
}

COURIER_HOT void connection_pool::wake_one(per_origin& p) {
  if (p.waiters.empty()) return;
  auto timer = p.waiters.front();
  p.waiters.pop_front();
  timer->cancel();
}

COURIER_HOT void connection_pool::release(std::unique_ptr<transport> t, bool reusable) {
  if (!t) return;
  // A connection lent to a coroutine's io_context stays on its reactor while idle: the next
  // request from there reuses the registration; any other user settles it first.
  std::lock_guard lock(mutex_);
  per_origin& p = t->slot ? *t->slot : origins_[t->pool_key()];
  t->slot = &p;
  if (reusable && t->is_open() && !closed_) {
    t->idle_since = coarse_clock::now();
    p.idle.push_back(std::move(t));
  } else {
    t->close();
    if (p.open > 0) --p.open;
  }
  wake_one(p);
}

void connection_pool::give_back_slot(const std::string& origin) {
  std::lock_guard lock(mutex_);
  auto& p = origins_[origin];
  if (p.open > 0) --p.open;
  wake_one(p);
}

void connection_pool::clear() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (auto& [origin, p] : origins_) {
    for (auto& t : p.idle)
      t->close();
    p.open -= std::min(p.open, p.idle.size());
    p.idle.clear();
    while (!p.waiters.empty())
      wake_one(p);
  }
}

std::size_t connection_pool::idle_count(const std::string& origin) {
  std::lock_guard lock(mutex_);
  return origins_[origin].idle.size();
}

}  // namespace courier::asio_detail
