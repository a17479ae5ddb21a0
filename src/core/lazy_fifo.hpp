// A first-in first-out queue that costs nothing until its first element. std::deque allocates
// about 600 bytes when it is made, which an HTTP/2 stream paid twice (its request body pieces
// and its events) even when it queued nothing: a thousand concurrent streams held over a MiB
// of empty queues. Its storage is kept once drained, so a steady flow reuses it.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace courier::detail {

template <class T>
class lazy_fifo {
 public:
  /// `first_capacity`: room made at the first element, for the usual length of the queue.
  explicit lazy_fifo(std::size_t first_capacity = 1) : first_capacity_(first_capacity) {}

  bool empty() const noexcept { return front_ == items_.size(); }
  std::size_t size() const noexcept { return items_.size() - front_; }

  T& front() noexcept { return items_[front_]; }
  const T& front() const noexcept { return items_[front_]; }

  void push_back(T value) {
    if (items_.capacity() == 0) items_.reserve(first_capacity_);
    items_.push_back(std::move(value));
  }

  /// Takes the front element out.
  T take_front() {
    T out = std::move(items_[front_]);
    pop_front();
    return out;
  }

  void pop_front() {
    if (++front_ == items_.size()) {
      clear();
    } else if (front_ >= compact_after && front_ * 2 >= items_.size()) {
      // A queue that never drains (a long upload, fed as it is sent) drops its taken
      // elements now and then instead of growing.
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(front_));
      front_ = 0;
    }
  }

  void clear() noexcept {
    items_.clear();
    front_ = 0;
  }

 private:
  static constexpr std::size_t compact_after = 32;
  std::vector<T> items_;
  std::size_t first_capacity_;
  std::size_t front_ = 0;  // items_[0, front_) were taken
};

}  // namespace courier::detail
