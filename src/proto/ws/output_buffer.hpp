// The bytes a protocol core has produced and the I/O layer has not written yet.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace courier::proto::ws {

/// A growable byte queue: append at the end, consume from the front. Unlike std::string it
/// does not zero the space it hands out, so a frame can be masked straight into it.
class output_buffer {
 public:
  std::string_view data() const noexcept { return {buf_.get() + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }

  /// Room for `n` more bytes; write them, then commit(n). Invalidates data().
  char* prepare(std::size_t n) {
    if (capacity_ - end_ < n) make_room(n);
    return buf_.get() + end_;
  }
  void commit(std::size_t n) noexcept { end_ += n; }

  /// Exchanges the contents (and the storage) of two buffers: O(1).
  void swap(output_buffer& other) noexcept {
    std::swap(buf_, other.buf_);
    std::swap(capacity_, other.capacity_);
    std::swap(begin_, other.begin_);
    std::swap(end_, other.end_);
  }

  /// Drops `n` bytes (at most size()) from the front.
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ != end_) return;
    begin_ = end_ = 0;
    // One huge message should not pin its buffer for the connection's lifetime.
    if (capacity_ > release_above) {
      buf_.reset();
      capacity_ = 0;
    }
  }

 private:
  static constexpr std::size_t release_above = std::size_t{1} << 20;

  void make_room(std::size_t n) {
    const std::size_t live = end_ - begin_;
    // Sliding the unsent bytes to the front is cheap when they are few next to the consumed
    // part; otherwise grow.
    if (begin_ >= live && capacity_ - live >= n) {
      std::memmove(buf_.get(), buf_.get() + begin_, live);
    } else {
      const std::size_t capacity = std::max({capacity_ * 2, live + n, std::size_t{4096}});
      std::unique_ptr<char[]> bigger(new char[capacity]);
      if (live != 0) std::memcpy(bigger.get(), buf_.get() + begin_, live);
      buf_ = std::move(bigger);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = live;
  }

  std::unique_ptr<char[]> buf_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace courier::proto::ws
