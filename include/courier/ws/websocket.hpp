// The high-level WebSocket: a buffered connection with receive/send in sync and async forms.
#pragma once

#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/ws/errors.hpp>
#include <courier/ws/frame.hpp>
#include <courier/ws/message.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace courier::ws {

namespace detail {
/// A handler's executor when it is an any_io_executor (a coroutine's is), else an empty one. It
/// tells the backend which io_context the handler runs on without type-erasing it once more.
template <class Handler>
boost::asio::any_io_executor executor_hint(const Handler& h) {
  if constexpr (std::is_same_v<boost::asio::associated_executor_t<Handler>,
                               boost::asio::any_io_executor>) {
    return boost::asio::get_associated_executor(h);
  } else {
    return {};
  }
}
}  // namespace detail

class message_range;

/// A handle to an open WebSocket made by the high-level handler. Copies share the connection.
/// Every member may be called from any thread: sends are queued and never interleaved (and no
/// data frame is written inside a fragmented message another send has started), receives are
/// served in order. Sync members block and throw courier errors; async_ members take any Asio
/// completion token and report a boost::system::error_code holding a courier::errc.
/// Sync members must not be called from the backend's I/O threads (use async_ there).
class websocket {
 public:
  struct state;
  /// An empty handle (what a failed async open hands out); only assignment is valid on it.
  websocket() = default;
  explicit websocket(std::shared_ptr<state> s) : state_(std::move(s)) {}

  // --- receiving ------------------------------------------------------------------------------
  /// The next incoming frame, or the close event (reported once; after it, receive() throws
  /// websocket_closed holding the close frame). A protocol error or a lost connection is thrown.
  incoming receive();
  /// The next whole message, fragments joined (pings/pongs and the close event are skipped:
  /// a close throws websocket_closed).
  message receive_message();
  /// The next whole text message. A binary message instead throws decode_error (consumed).
  std::string receive_text();
  /// The next whole binary message. A text message instead throws decode_error (consumed).
  std::vector<std::byte> receive_binary();

  // --- sending --------------------------------------------------------------------------------
  /// Sends one frame. For fragments: the first with fin = false, then frames with
  /// is_continuation = true, the last with fin = true. Returns once the frame is queued, in
  /// order, for the socket (frames queued together go out in one write); it blocks only while
  /// the outgoing queue holds max_outgoing_bytes (outgoing_full::wait).
  void send(frame f, bool is_continuation = false);
  void send_text(std::string text);
  void send_binary(std::span<const std::byte> bytes);
  void send_binary(std::string bytes);
  void ping(std::string payload = {});
  /// Starts the close handshake and waits (at most close_timeout) for the peer's close frame.
  void close(std::uint16_t code = close_code::normal, std::string_view reason = {});

  bool is_open() const noexcept;
  /// The headers of the 101 response.
  const courier::headers& upgrade_headers() const noexcept;
  /// The subprotocol the server chose, if any.
  const std::optional<std::string>& subprotocol() const noexcept;
  /// Whether permessage-deflate was negotiated.
  bool compressed() const noexcept;

  /// The messages as an input range: for (auto& m : ws.messages()) ... ends at the close.
  message_range messages();

  // --- async forms ----------------------------------------------------------------------------
  template <class Token>
  auto async_receive(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, incoming)>(
        [this](auto h) {
          auto hint = detail::executor_hint(h);
          do_async_receive(std::move(h), std::move(hint));
        },
        token);
  }
  template <class Token>
  auto async_receive_message(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, message)>(
        [this](auto h) {
          auto hint = detail::executor_hint(h);
          do_async_receive_message(std::move(h), std::move(hint));
        },
        token);
  }
  template <class Token>
  auto async_receive_text(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::string)>(
        [this](auto h) {
          auto hint = detail::executor_hint(h);
          do_async_receive_text(std::move(h), std::move(hint));
        },
        token);
  }
  template <class Token>
  auto async_receive_binary(Token&& token) {
    return boost::asio::async_initiate<Token,
                                       void(boost::system::error_code, std::vector<std::byte>)>(
        [this](auto h) {
          auto hint = detail::executor_hint(h);
          do_async_receive_binary(std::move(h), std::move(hint));
        },
        token);
  }
  template <class Token>
  auto async_send(frame f, bool is_continuation, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto h, frame message, bool c) {
          auto hint = detail::executor_hint(h);
          do_async_send(std::move(message), c, std::move(h), std::move(hint));
        },
        token, std::move(f), is_continuation);
  }
  template <class Token>
  auto async_send(frame f, Token&& token) {
    return async_send(std::move(f), false, std::forward<Token>(token));
  }
  template <class Token>
  auto async_send_text(std::string text, Token&& token) {
    return async_send(frame::text(std::move(text)), false, std::forward<Token>(token));
  }
  template <class Token>
  auto async_send_binary(std::span<const std::byte> bytes, Token&& token) {
    return async_send(frame::binary(bytes), false, std::forward<Token>(token));
  }
  template <class Token>
  auto async_ping(std::string payload, Token&& token) {
    return async_send(frame::ping(std::move(payload)), false, std::forward<Token>(token));
  }
  template <class Token>
  auto async_close(std::uint16_t code, std::string_view reason, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto h, std::uint16_t c, std::string r) {
          auto hint = detail::executor_hint(h);
          do_async_close(c, std::move(r), std::move(h), std::move(hint));
        },
        token, code, std::string(reason));
  }

  using receive_handler =
      boost::asio::any_completion_handler<void(boost::system::error_code, incoming)>;
  using message_handler =
      boost::asio::any_completion_handler<void(boost::system::error_code, message)>;
  using text_handler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::string)>;
  using binary_handler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::vector<std::byte>)>;
  using done_handler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

  const std::shared_ptr<state>& shared_state() const noexcept { return state_; }

 private:
  // `hint`: the handler's executor, when it is an any_io_executor (see detail::executor_hint).
  void do_async_receive(receive_handler h, boost::asio::any_io_executor hint);
  void do_async_receive_message(message_handler h, boost::asio::any_io_executor hint);
  void do_async_receive_text(text_handler h, boost::asio::any_io_executor hint);
  void do_async_receive_binary(binary_handler h, boost::asio::any_io_executor hint);
  void do_async_send(frame f, bool is_continuation, done_handler h,
                     boost::asio::any_io_executor hint);
  void do_async_close(std::uint16_t code, std::string reason, done_handler h,
                      boost::asio::any_io_executor hint);

  std::shared_ptr<state> state_;
};

}  // namespace courier::ws
