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
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
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

/// Whether `Token` is use_awaitable (with any executor): then a receive of a message already
/// buffered, or a send queued at once, lets the coroutine go on without a round through its
/// io_context (see websocket::ready_or_wait).
template <class Token>
struct awaitable_token : std::false_type {};
template <class Executor>
struct awaitable_token<boost::asio::use_awaitable_t<Executor>> : std::true_type {
  using executor = Executor;
};
}  // namespace detail

class message_range;

/// A handle to an open WebSocket made by the high-level handler. Copies share the connection.
/// Every member may be called from any thread: sends are queued and never interleaved (and no
/// data frame is written inside a fragmented message another send has started), receives are
/// served in order. Sync members block and throw courier errors; async_ members take any Asio
/// completion token and complete with a std::exception_ptr holding the same exception the sync
/// member would throw (null on success), which co_await and std::future rethrow.
///
/// Cancellation (the handler's cancellation slot, docs/cancellation.md):
/// - async_receive*: terminal, partial and total. A receive still waiting completes with
///   operation_aborted and takes nothing: the next receive gets the next message.
/// - async_send*, async_ping: terminal, partial and total while the frame waits for room in the
///   outgoing queue (it is dropped, never half-written); a frame already queued completes at
///   once, so there is nothing left to cancel.
/// - async_close: terminal. The close frame is out; waiting for the peer's stops and the
///   connection is dropped.
/// Sync members must not be called from the backend's I/O threads (use async_ there).
class websocket {
 public:
  struct state;
  /// An empty handle (what a failed async open hands out); only assignment is valid on it.
  websocket() = default;
  /// A handle on an open connection; backends make these.
  explicit websocket(std::shared_ptr<state> s) : state_(std::move(s)) {}

  // --- receiving ------------------------------------------------------------------------------
  /// The next incoming frame, or the close event (reported once; after it, receive() throws
  /// websocket_closed holding the close frame). A protocol error or a lost connection is thrown,
  /// after every message that arrived before it (until then, sends still go out ahead of the
  /// close frame; see close_timeout).
  incoming receive();
  /// The next whole message, fragments joined (pings/pongs and the close event are skipped:
  /// a close throws websocket_closed).
  message receive_message();
  /// The next whole text message. A binary message instead throws decode_error (consumed).
  std::string receive_text();
  /// The next whole binary message. A text message instead throws decode_error (consumed).
  std::vector<std::byte> receive_binary();

  /// The same, waiting at most `timeout` (instead of buffer_options::receive_timeout): then
  /// timeout_error is thrown, nothing is consumed and the connection stays open.
  incoming receive(std::chrono::milliseconds timeout);
  /// receive_message(), waiting at most `timeout`.
  message receive_message(std::chrono::milliseconds timeout);
  /// receive_text(), waiting at most `timeout`.
  std::string receive_text(std::chrono::milliseconds timeout);
  /// receive_binary(), waiting at most `timeout`.
  std::vector<std::byte> receive_binary(std::chrono::milliseconds timeout);

  // --- sending --------------------------------------------------------------------------------
  /// Sends one frame. For fragments: the first with fin = false, then frames with
  /// is_continuation = true, the last with fin = true. Returns once the frame is queued, in
  /// order, for the socket (frames queued together go out in one write); it blocks only while
  /// the outgoing queue holds max_outgoing_bytes (outgoing_full::wait).
  void send(frame f, bool is_continuation = false);
  /// Sends a text message.
  void send_text(std::string text);
  /// Sends a binary message.
  void send_binary(std::span<const std::byte> bytes);
  /// Sends a binary message.
  void send_binary(std::string bytes);
  /// Sends a ping; its pong is not reported as a message.
  void ping(std::string payload = {});
  /// Starts the close handshake and waits (at most close_timeout) for the peer's close frame.
  void close(std::uint16_t code = close_code::normal, std::string_view reason = {});

  /// False once the connection is closed or failed.
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
  // Each receive waits at most buffer_options::receive_timeout when that is set, or the
  // `timeout` given to its overload; then it completes with timeout_error, having taken nothing.
  /// receive() with any Asio completion token; completes with
  /// void(std::exception_ptr, incoming).
  template <class Token>
  auto async_receive(Token&& token) {
    return initiate_receive<incoming>(&websocket::do_async_receive, &websocket::take_ready_frame,
                                      std::nullopt, std::forward<Token>(token));
  }
  /// The same, waiting at most `timeout`.
  template <class Token>
  auto async_receive(std::chrono::milliseconds timeout, Token&& token) {
    return initiate_receive<incoming>(&websocket::do_async_receive, &websocket::take_ready_frame,
                                      timeout, std::forward<Token>(token));
  }
  /// receive_message() with any Asio completion token; completes with
  /// void(std::exception_ptr, message).
  template <class Token>
  auto async_receive_message(Token&& token) {
    return initiate_receive<message>(&websocket::do_async_receive_message,
                                     &websocket::take_ready_message, std::nullopt,
                                     std::forward<Token>(token));
  }
  /// The same, waiting at most `timeout`.
  template <class Token>
  auto async_receive_message(std::chrono::milliseconds timeout, Token&& token) {
    return initiate_receive<message>(&websocket::do_async_receive_message,
                                     &websocket::take_ready_message, timeout,
                                     std::forward<Token>(token));
  }
  /// receive_text() with any Asio completion token; completes with
  /// void(std::exception_ptr, std::string).
  template <class Token>
  auto async_receive_text(Token&& token) {
    return initiate_receive<std::string>(&websocket::do_async_receive_text,
                                         &websocket::take_ready_text, std::nullopt,
                                         std::forward<Token>(token));
  }
  /// The same, waiting at most `timeout`.
  template <class Token>
  auto async_receive_text(std::chrono::milliseconds timeout, Token&& token) {
    return initiate_receive<std::string>(&websocket::do_async_receive_text,
                                         &websocket::take_ready_text, timeout,
                                         std::forward<Token>(token));
  }
  /// receive_binary() with any Asio completion token; completes with
  /// void(std::exception_ptr, std::vector<std::byte>).
  template <class Token>
  auto async_receive_binary(Token&& token) {
    return initiate_receive<std::vector<std::byte>>(&websocket::do_async_receive_binary,
                                                    &websocket::take_ready_binary, std::nullopt,
                                                    std::forward<Token>(token));
  }
  /// The same, waiting at most `timeout`.
  template <class Token>
  auto async_receive_binary(std::chrono::milliseconds timeout, Token&& token) {
    return initiate_receive<std::vector<std::byte>>(&websocket::do_async_receive_binary,
                                                    &websocket::take_ready_binary, timeout,
                                                    std::forward<Token>(token));
  }
  /// send() with any Asio completion token; completes with void(std::exception_ptr) once
  /// the frame is queued.
  template <class Token>
  auto async_send(frame f, bool is_continuation, Token&& token) {
    if constexpr (detail::awaitable_token<std::decay_t<Token>>::value) {
      return send_or_wait<typename detail::awaitable_token<std::decay_t<Token>>::executor>(
          *this, std::move(f), is_continuation);
    } else {
      return initiate_send(std::move(f), is_continuation, std::forward<Token>(token));
    }
  }
  /// async_send() of a whole frame (not a continuation).
  template <class Token>
  auto async_send(frame f, Token&& token) {
    return async_send(std::move(f), false, std::forward<Token>(token));
  }
  /// send_text() with any Asio completion token.
  template <class Token>
  auto async_send_text(std::string text, Token&& token) {
    return async_send(frame::text(std::move(text)), false, std::forward<Token>(token));
  }
  /// send_binary() with any Asio completion token.
  template <class Token>
  auto async_send_binary(std::span<const std::byte> bytes, Token&& token) {
    return async_send(frame::binary(bytes), false, std::forward<Token>(token));
  }
  /// ping() with any Asio completion token.
  template <class Token>
  auto async_ping(std::string payload, Token&& token) {
    return async_send(frame::ping(std::move(payload)), false, std::forward<Token>(token));
  }
  /// close() with any Asio completion token; completes when the handshake ends.
  template <class Token>
  auto async_close(std::uint16_t code, std::string_view reason, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::exception_ptr)>(
        [this](auto h, std::uint16_t c, std::string r) {
          auto hint = detail::executor_hint(h);
          do_async_close(c, std::move(r), std::move(h), std::move(hint));
        },
        token, code, std::string(reason));
  }

  /// A type-erased completion handler for a result of type T.
  template <class T>
  using completion = boost::asio::any_completion_handler<void(std::exception_ptr, T)>;
  /// The completion of async_receive.
  using receive_handler = boost::asio::any_completion_handler<void(std::exception_ptr, incoming)>;
  /// The completion of async_receive_message.
  using message_handler = boost::asio::any_completion_handler<void(std::exception_ptr, message)>;
  /// The completion of async_receive_text.
  using text_handler = boost::asio::any_completion_handler<void(std::exception_ptr, std::string)>;
  /// The completion of async_receive_binary.
  using binary_handler =
      boost::asio::any_completion_handler<void(std::exception_ptr, std::vector<std::byte>)>;
  /// The completion of sends, pings and close.
  using done_handler = boost::asio::any_completion_handler<void(std::exception_ptr)>;

  /// The shared connection, for backends.
  const std::shared_ptr<state>& shared_state() const noexcept { return state_; }

 private:
  using receive_timeout = std::optional<std::chrono::milliseconds>;
  template <class T>
  using receive_start = void (websocket::*)(completion<T>, boost::asio::any_io_executor,
                                            receive_timeout);
  template <class T>
  using ready_take = std::optional<T> (websocket::*)();

  template <class T, class Token>
  auto initiate_receive(receive_start<T> start, ready_take<T> take, receive_timeout timeout,
                        Token&& token) {
    if constexpr (detail::awaitable_token<std::decay_t<Token>>::value) {
      return ready_or_wait<T, typename detail::awaitable_token<std::decay_t<Token>>::executor>(
          *this, start, take, timeout);
    } else {
      (void)take;
      return initiate_posted<T>(start, timeout, std::forward<Token>(token));
    }
  }
  template <class T, class Token>
  auto initiate_posted(receive_start<T> start, receive_timeout timeout, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::exception_ptr, T)>(
        [this, start, timeout](auto h) {
          auto hint = detail::executor_hint(h);
          (this->*start)(completion<T>(std::move(h)), std::move(hint), timeout);
        },
        token);
  }
  template <class Token>
  auto initiate_send(frame f, bool is_continuation, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::exception_ptr)>(
        [this](auto h, frame message, bool c) {
          auto hint = detail::executor_hint(h);
          do_async_send(std::move(message), c, std::move(h), std::move(hint));
        },
        token, std::move(f), is_continuation);
  }

  // For a coroutine (use_awaitable): Asio never lets a handler run inside its initiating
  // function, so an operation that is done at once would still complete through a post to the
  // coroutine's io_context, a round through its reactor each. Instead, what is ready is
  // returned from a nested awaitable, which the coroutine's own loop resumes from: no post, no
  // recursion, on the coroutine's executor, nothing left in its cancellation slot. What has to
  // wait is the ordinary operation. Every few operations in a row the ordinary (posting) path
  // is taken anyway, so that a peer that keeps the buffer full cannot keep a coroutine from
  // letting others on its io_context run. `self` keeps the connection while it runs.
  template <class T, class Executor>
  static boost::asio::awaitable<T, Executor> ready_or_wait(websocket self, receive_start<T> start,
                                                           ready_take<T> take,
                                                           receive_timeout timeout) {
    if (std::optional<T> ready = (self.*take)()) co_return std::move(*ready);
    co_return co_await self.initiate_posted<T>(start, timeout,
                                               boost::asio::use_awaitable_t<Executor>{});
  }
  template <class Executor>
  static boost::asio::awaitable<void, Executor> send_or_wait(websocket self, frame f,
                                                             bool is_continuation) {
    if (self.send_ready(f, is_continuation)) co_return;
    co_await self.initiate_send(std::move(f), is_continuation,
                                boost::asio::use_awaitable_t<Executor>{});
  }

  // What a coroutine's receive takes at once, when no earlier receive waits (nullopt: the
  // receive has to wait, or it is time to let the io_context run). They throw what the
  // receive would complete with (a whole message of the other type: decode_error, consumed).
  std::optional<incoming> take_ready_frame();
  std::optional<message> take_ready_message();
  std::optional<std::string> take_ready_text();
  std::optional<std::vector<std::byte>> take_ready_binary();
  /// Queues `f` when that needs no waiting (true, `f` taken; throws what the send would
  /// complete with); false, with `f` untouched, when the send has to go the ordinary way.
  bool send_ready(frame& f, bool is_continuation);

  // `hint`: the handler's executor, when it is an any_io_executor (see detail::executor_hint).
  void do_async_receive(receive_handler h, boost::asio::any_io_executor hint,
                        receive_timeout timeout);
  void do_async_receive_message(message_handler h, boost::asio::any_io_executor hint,
                                receive_timeout timeout);
  void do_async_receive_text(text_handler h, boost::asio::any_io_executor hint,
                             receive_timeout timeout);
  void do_async_receive_binary(binary_handler h, boost::asio::any_io_executor hint,
                               receive_timeout timeout);
  void do_async_send(frame f, bool is_continuation, done_handler h,
                     boost::asio::any_io_executor hint);
  void do_async_close(std::uint16_t code, std::string reason, done_handler h,
                      boost::asio::any_io_executor hint);

  std::shared_ptr<state> state_;
};

}  // namespace courier::ws
