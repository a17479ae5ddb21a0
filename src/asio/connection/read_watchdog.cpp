#include "asio/connection/read_watchdog.hpp"
#include "core/hot_path.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <sys/socket.h>

namespace courier::asio_detail {

namespace {
// The longest the watchdog sleeps while reads are armed: how late a read timeout may fire.
constexpr std::chrono::milliseconds longest_nap{20};
}  // namespace

class read_watchdog {
 public:
  // Never destroyed: a watch may outlive static destruction, and the thread sleeps until exit.
  static read_watchdog& instance() {
    static read_watchdog* const one = new read_watchdog;
    return *one;
  }

  void add(read_watch* w) {
    std::lock_guard lock(mutex_);
    watches_.push_back(w);
    if (!started_) {
      std::thread([this] { run(); }).detach();
      started_ = true;
    }
  }
  void remove(read_watch* w) {
    std::lock_guard lock(mutex_);  // waits out a scan in progress
    const auto it = std::find(watches_.begin(), watches_.end(), w);
    if (it != watches_.end()) watches_.erase(it);
  }
  /// After a deadline was armed: wakes the watchdog if it sleeps without a deadline to watch.
  void armed() {
    if (!sleeping_.load()) return;
    std::lock_guard lock(mutex_);
    wake_.notify_one();
  }
  /// Returns once a scan that is shutting a socket down has finished.
  void wait_out_scan() { std::lock_guard lock(mutex_); }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (auto next = scan()) {
        const auto nap = std::clamp<coarse_clock::duration>(
            *next - coarse_clock::now(), std::chrono::milliseconds(1), longest_nap);
        wake_.wait_for(lock, nap);
        continue;
      }
      // Nothing armed: sleep until a read arms a deadline. A read that armed one during the
      // scan above sees sleeping_ (both are sequentially consistent) and wakes this thread,
      // or the scan below finds its deadline.
      sleeping_.store(true);
      if (!scan()) wake_.wait(lock);
      sleeping_.store(false);
    }
  }

  // Shuts down the sockets whose deadline passed; the earliest deadline still armed, if any.
  std::optional<coarse_clock::time_point> scan() {
    const std::int64_t now = coarse_clock::now().time_since_epoch().count();
    std::optional<coarse_clock::time_point> next;
    for (read_watch* w : watches_) {
      std::int64_t s = w->state_.load();
      if (s <= read_watch::idle) continue;  // idle, or fired already
      if (s > now) {
        const coarse_clock::time_point at{coarse_clock::duration(s)};
        if (!next || at < *next) next = at;
        continue;
      }
      if (w->state_.compare_exchange_strong(s, read_watch::firing)) {
        ::shutdown(w->fd_, SHUT_RDWR);  // the blocked recv() returns
        std::int64_t expected = read_watch::firing;
        w->state_.compare_exchange_strong(expected, read_watch::fired);
      }
    }
    return next;
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<read_watch*> watches_;
  std::atomic<bool> sleeping_{false};
  bool started_ = false;
};

read_watch::~read_watch() {
  if (listed_) read_watchdog::instance().remove(this);
}

COURIER_HOT void read_watch::arm(int fd, coarse_clock::time_point deadline) {
  read_watchdog& dog = read_watchdog::instance();
  fd_ = fd;
  if (!listed_) {
    dog.add(this);
    listed_ = true;
  }
  state_.store(std::max<std::int64_t>(deadline.time_since_epoch().count(), 1));
  dog.armed();
}

COURIER_HOT bool read_watch::disarm() noexcept {
  const std::int64_t s = state_.exchange(idle);
  if (s >= idle) return false;
  if (s == firing) read_watchdog::instance().wait_out_scan();
  return true;
}

}  // namespace courier::asio_detail
