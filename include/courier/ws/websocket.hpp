// The high-level WebSocket: a buffered connection with receive/send in sync and async forms.
#pragma once

#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/ws/errors.hpp>
#include <courier/ws/frame.hpp>
#include <courier/ws/message.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace courier::ws {

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
        [this](auto h) { do_async_receive(std::move(h)); }, token);
  }
  template <class Token>
  auto async_receive_message(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, message)>(
        [this](auto h) { do_async_receive_message(std::move(h)); }, token);
  }
  template <class Token>
  auto async_receive_text(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::string)>(
        [this](auto h) { do_async_receive_text(std::move(h)); }, token);
  }
  template <class Token>
  auto async_receive_binary(Token&& token) {
    return boost::asio::async_initiate<Token,
                                       void(boost::system::error_code, std::vector<std::byte>)>(
        [this](auto h) { do_async_receive_binary(std::move(h)); }, token);
  }
  template <class Token>
  auto async_send(frame f, bool is_continuation, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto h, frame f, bool c) { do_async_send(std::move(f), c, std::move(h)); }, token,
        std::move(f), is_continuation);
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
          do_async_close(c, std::move(r), std::move(h));
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
  void do_async_receive(receive_handler h);
  void do_async_receive_message(message_handler h);
  void do_async_receive_text(text_handler h);
  void do_async_receive_binary(binary_handler h);
  void do_async_send(frame f, bool is_continuation, done_handler h);
  void do_async_close(std::uint16_t code, std::string reason, done_handler h);

  std::shared_ptr<state> state_;
};

}  // namespace courier::ws
