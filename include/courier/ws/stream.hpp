// Messages of a high-level websocket as a range (sync), an async stream (coroutines), and pipe.
#pragma once

#include <courier/ws/websocket.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>

#include <cstddef>
#include <exception>
#include <iterator>
#include <optional>

namespace courier::ws {

/// An input range over the incoming messages; it ends when the peer closes. Errors (a protocol
/// violation, a lost connection) are thrown from the increment.
class message_range {
 public:
  /// The messages of `ws`.
  explicit message_range(websocket ws) : ws_(std::move(ws)) {}

  /// Walks the messages; each increment receives the next one (blocking).
  class iterator {
   public:
    /// Single pass.
    using iterator_category = std::input_iterator_tag;
    /// A message.
    using value_type = message;
    /// Required of an iterator; never used for distances.
    using difference_type = std::ptrdiff_t;
    /// Points to the current message.
    using pointer = message*;
    /// The current message.
    using reference = message&;

    iterator() = default;
    /// Receives the first message.
    explicit iterator(message_range* r) : range_(r) { advance(); }
    /// The current message.
    reference operator*() const { return *range_->current_; }
    /// The current message's members.
    pointer operator->() const { return &*range_->current_; }
    /// Receives the next message.
    iterator& operator++() {
      advance();
      return *this;
    }
    /// Receives the next message.
    void operator++(int) { advance(); }
    /// True once the connection has closed.
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.range_ == nullptr;
    }

   private:
    void advance() {
      if (!range_->next()) range_ = nullptr;
    }
    message_range* range_ = nullptr;
  };

  /// Receives the first message (blocking).
  iterator begin() { return iterator(this); }
  /// The end: the close.
  std::default_sentinel_t end() const noexcept { return {}; }

  /// The close event that ended the range, once it has ended.
  const std::optional<close_event>& close() const noexcept { return close_; }

 private:
  bool next();  // false at the close
  websocket ws_;
  std::optional<message> current_;
  std::optional<close_event> close_;
};

inline message_range websocket::messages() {
  return message_range(*this);
}

/// The next message for coroutines: nullopt when the peer closed. Completion signature
/// void(std::exception_ptr, std::optional<message>). Cancellation is the receive's (terminal,
/// partial, total: nothing is taken).
template <class Token>
auto async_next_message(websocket& ws, Token&& token) {
  using signature = void(std::exception_ptr, std::optional<message>);
  return boost::asio::async_initiate<Token, signature>(
      [&ws](auto handler) {
        auto ex = boost::asio::get_associated_executor(handler);
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        ws.async_receive_message(boost::asio::bind_cancellation_slot(
            slot, boost::asio::bind_executor(
                      ex, [h = std::move(handler)](std::exception_ptr e, message m) mutable {
                        if (e && error_code_of(e) == errc::websocket_closed) {
                          std::move(h)(nullptr, std::nullopt);
                        } else if (e) {
                          std::move(h)(e, std::nullopt);
                        } else {
                          std::move(h)(nullptr, std::optional<message>(std::move(m)));
                        }
                      })));
      },
      token);
}

/// Runs until the peer closes: each incoming message is passed to `f`, and whatever message
/// `f` returns is sent back. Returns the close event. The seed's stream pipe, in C++.
template <class F>
close_event pipe(websocket& ws, F f) {
  message_range range(ws);
  for (auto& m : range) {
    std::optional<message> out = f(std::move(m));
    if (out) ws.send(frame{out->type, true, false, false, false, std::move(out->data)});
  }
  return range.close().value_or(close_event{});
}

}  // namespace courier::ws
