// Keep-alive connections per pool key (the origin, plus the proxy when there is one), with a
// cap on how many may be open at once.
#pragma once

#include "asio/connection/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace courier::asio_detail {

/// The connections of one pool key: idle ones, and how many are open.
struct pool_slot {
  std::deque<std::unique_ptr<transport>> idle;
  std::size_t open = 0;  // idle + in use + reserved
  std::list<std::shared_ptr<net::steady_timer>> waiters;
};

class connection_pool {
 public:
  connection_pool(std::size_t max_per_origin, std::chrono::milliseconds idle_timeout)
      : max_per_origin_(max_per_origin == 0 ? 1 : max_per_origin), idle_timeout_(idle_timeout) {}

  /// `origin` is a transport's pool_key(): a proxied connection is only ever reused for the
  /// same proxy and origin.
  /// An idle, live connection to `origin`, or nullptr with a slot reserved for a new one that
  /// the caller must then open (and hand back through release() or give_back_slot()). Waits
  /// while the origin has its maximum open; throws timeout_error at `until`.
  /// A connection idle for less than `recently_used` is handed out without checking that the
  /// server has not closed it, when the caller can resend its request on a fresh connection
  /// (`can_resend`): the check is a syscall per request, and a stale one is retried anyway.
  net::awaitable<std::unique_ptr<transport>> acquire(const std::string& origin,
                                                     clock::time_point until,
                                                     bool can_resend = false);

  /// An idle, live connection to `origin` when there is one (as acquire() would hand out),
  /// else nullptr with nothing reserved. No coroutine: the common keep-alive case costs no
  /// coroutine frame.
  std::unique_ptr<transport> take_idle(const std::string& origin, bool can_resend = false);

  static constexpr std::chrono::milliseconds recently_used{1000};
  /// Returns a connection after use: kept idle when `reusable`, closed otherwise.
  void release(std::unique_ptr<transport> t, bool reusable);
  /// Frees a slot reserved by acquire() for a connection that was never opened.
  void give_back_slot(const std::string& origin);
  /// Closes every idle connection (at shutdown); connections released after it are closed
  /// too (an exchange that outlived its backend).
  void clear();

  std::size_t idle_count(const std::string& origin);

 private:
  using per_origin = pool_slot;
  void wake_one(per_origin& p);
  /// A waiter that gives up (its exchange was cancelled) leaves the queue.
  void leave_waiters(const std::string& origin, const std::shared_ptr<net::steady_timer>& timer);
  std::unique_ptr<transport> pop_idle(per_origin& p, bool can_resend);

  std::mutex mutex_;
  bool closed_ = false;                        // clear() ran
  std::map<std::string, per_origin> origins_;  // never erased: transports point into it
  std::size_t max_per_origin_;
  std::chrono::milliseconds idle_timeout_;
};

}  // namespace courier::asio_detail
