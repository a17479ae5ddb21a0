// The two WebSocket handlers' states on the Asio backend: the high-level buffer behind
// ws::websocket, and the adaptor that calls a user's ws::listener.
#pragma once

#include "asio/ws/ws_session.hpp"

#include <courier/asio_backend.hpp>
#include <courier/headers.hpp>
#include <courier/ws/handler.hpp>
#include <courier/ws/listener.hpp>
#include <courier/ws/websocket.hpp>

#include <atomic>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <variant>
#include <vector>

namespace courier::ws {

struct websocket::state final : asio_detail::ws_event_sink,
                                std::enable_shared_from_this<websocket::state> {
  /// What a receiver is handed when its receive is cancelled or times out: the reason to
  /// complete with, and where to put the fragments of a message it had begun (they go back to
  /// the front of the buffer, so that the next receive gets the whole message).
  struct cancelled_receive {
    std::exception_ptr reason;
    std::vector<frame>* give_back;
  };
  using item = std::variant<frame, close_event, std::exception_ptr, cancelled_receive>;
  /// Called with each item in turn; returns true once satisfied.
  using receiver = std::function<bool(item&)>;
  struct waiting_receiver {
    receiver serve;
    std::uint64_t id;
  };

  state(std::shared_ptr<asio_detail::ws_session> s, buffer_options o, courier::headers h,
        std::optional<std::string> proto, bool deflate, std::shared_ptr<asio_backend::impl> b)
      : backend(std::move(b)),
        session(std::move(s)),
        options(std::move(o)),
        upgrade_headers(std::move(h)),
        subprotocol(std::move(proto)),
        compressed(deflate) {}
  ~state() override;

  // ws_event_sink, on the strand
  void on_event(proto::ws::event&& e) override;
  void on_failure(std::exception_ptr error) override;
  void on_closed(const close_event& close) override;
  bool wants_input() const noexcept override { return !receivers.empty(); }
  /// Only once everything before it has been taken and a receive waits for more.
  bool takes_failure_now() const noexcept override { return buffer.empty() && !receivers.empty(); }

  /// Queues `r` and serves it when items arrive. Returns its id, for cancel_receiver.
  std::uint64_t add_receiver(receiver r);
  /// Takes the receiver `id` out of the queue, if it still waits, and completes it with
  /// `reason`: nothing is consumed. False when it was served already.
  bool cancel_receiver(std::uint64_t id, std::exception_ptr reason);
  /// Serves waiting receivers from the buffer, and resumes reading when it has room. A receiver
  /// left waiting with nothing buffered is the application asking for what comes next: a
  /// protocol violation the session held back is delivered then. With the session's lock held
  /// (every caller holds it: sink callbacks run under it).
  void pump();
  void push(item it);
  /// Whether an operation that is done at once may resume its coroutine without a post: false
  /// once in every ready_in_a_row_limit calls, so that the coroutine's io_context runs its other
  /// work now and then (see websocket::ready_or_wait).
  bool may_resume_directly() noexcept {
    if (ready_in_a_row.fetch_add(1, std::memory_order_relaxed) + 1 < ready_in_a_row_limit)
      return true;
    ready_in_a_row.store(0, std::memory_order_relaxed);
    return false;
  }
  static constexpr unsigned ready_in_a_row_limit = 16;

  /// Kept alive while the websocket is: its io_context owns the socket. Declared first so that
  /// it is destroyed last, after the session and its socket.
  std::shared_ptr<asio_backend::impl> backend;
  std::shared_ptr<asio_detail::ws_session> session;
  buffer_options options;
  courier::headers upgrade_headers;
  std::optional<std::string> subprotocol;
  bool compressed = false;
  std::deque<item> buffer;
  std::deque<waiting_receiver> receivers;
  std::uint64_t last_receiver_id = 0;  // under the session's lock
  bool terminal = false;               // the close event has been handed out
  close_event final_close{close_code::abnormal, "closed"};
  std::atomic<bool> open{true};
  std::atomic<unsigned> ready_in_a_row{0};  // see may_resume_directly
};

struct sender::state {
  std::shared_ptr<asio_backend::impl> backend;  // first: destroyed after the session's socket
  std::shared_ptr<asio_detail::ws_session> session;
};

}  // namespace courier::ws

namespace courier::asio_detail {

/// Calls a user's listener from the session's events.
class listener_sink final : public ws_event_sink {
 public:
  listener_sink(std::shared_ptr<ws::listener> l, ws::sender s)
      : listener_(std::move(l)), sender_(std::move(s)) {}
  void on_event(proto::ws::event&& e) override;
  void on_failure(std::exception_ptr error) override;
  void on_closed(const ws::close_event& close) override;
  ws::sender& sender() noexcept { return sender_; }
  const std::shared_ptr<ws::listener>& listener() const noexcept { return listener_; }

 private:
  template <class F>
  void guarded(F f);
  std::shared_ptr<ws::listener> listener_;
  ws::sender sender_;
};

}  // namespace courier::asio_detail
