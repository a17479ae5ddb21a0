// The bytes a WebSocket core has produced and the I/O layer has not written yet, as a short
// sequence of pieces: frame bytes serialised into buffers, and large payloads kept in the
// strings they arrived in.
#pragma once

#include "proto/ws/output_buffer.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::proto::ws {

/// A queue of outgoing bytes that can take a whole string without copying it. A 1 MiB message
/// masked in its own string and queued here costs no copy and no second 1 MiB buffer on its
/// way to the socket; small frames still share one buffer, so many of them leave in one write.
class output_queue {
 public:
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Room for `n` more bytes at the end; write them, then commit(n). Invalidates the pieces.
  char* prepare(std::size_t n) {
    if (pieces_.empty() || pieces_.back().is_string) pieces_.emplace_back();
    return pieces_.back().bytes.prepare(n);
  }
  void commit(std::size_t n) noexcept {
    pieces_.back().bytes.commit(n);
    size_ += n;
  }

  /// Queues `s` from byte `begin` on after everything else, keeping its storage (no copy).
  void append(std::string&& s, std::size_t begin = 0) {
    if (begin >= s.size()) return;
    size_ += s.size() - begin;
    piece p;
    p.is_string = true;
    p.string = std::move(s);
    p.string_begin = begin;
    pieces_.push_back(std::move(p));
  }

  /// Queues a view of bytes that a string appended later owns (a frame's first fragments
  /// point into the string that holds the last one): they are consumed before it is released.
  void append_borrowed(std::string_view bytes) {
    if (bytes.empty()) return;
    size_ += bytes.size();
    piece p;
    p.is_string = true;
    p.borrowed = bytes;
    pieces_.push_back(std::move(p));
  }

  /// The first contiguous run of pending bytes: all of them unless a string was appended.
  std::string_view front() const noexcept {
    for (const piece& p : pieces_) {
      if (!p.view().empty()) return p.view();
    }
    return {};
  }

  /// Calls `f(std::string_view)` for each non-empty piece, in order.
  template <class F>
  void for_each_piece(F&& f) const {
    for (const piece& p : pieces_) {
      if (!p.view().empty()) f(p.view());
    }
  }

  /// Drops `n` bytes (at most size()) from the front.
  void consume(std::size_t n) noexcept {
    size_ -= n;
    std::size_t used = 0;  // pieces consumed entirely
    while (n > 0) {
      piece& p = pieces_[used];
      const std::size_t here = std::min(n, p.view().size());
      n -= here;
      if (p.is_string) {
        p.string_begin += here;
      } else {
        p.bytes.consume(here);
      }
      if (p.view().empty()) ++used;
    }
    if (size_ == 0) {
      // Keep one byte buffer (and its storage) for the next frames; strings are released.
      for (piece& p : pieces_) {
        if (!p.is_string) {
          if (&p != &pieces_.front()) std::swap(p, pieces_.front());
          pieces_.resize(1);
          return;
        }
      }
      pieces_.clear();
      return;
    }
    pieces_.erase(pieces_.begin(), pieces_.begin() + static_cast<std::ptrdiff_t>(used));
  }

  /// Exchanges the contents (and the storage) of two queues: O(1).
  void swap(output_queue& other) noexcept {
    pieces_.swap(other.pieces_);
    std::swap(size_, other.size_);
  }

 private:
  struct piece {
    bool is_string = false;
    output_buffer bytes;           // when !is_string
    std::string string;            // when is_string and it owns the bytes
    std::string_view borrowed;     // when is_string and a later piece owns them
    std::size_t string_begin = 0;  // bytes of the string (or view) already consumed

    std::string_view view() const noexcept {
      if (!is_string) return bytes.data();
      return (borrowed.data() ? borrowed : std::string_view(string)).substr(string_begin);
    }
  };

  std::vector<piece> pieces_;
  std::size_t size_ = 0;
};

}  // namespace courier::proto::ws
