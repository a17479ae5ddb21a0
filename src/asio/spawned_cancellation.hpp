// How a backend operation that runs as a coroutine on a strand (an HTTP exchange, a WebSocket
// upgrade) hears that its caller gave up. The caller's cancellation slot may be emitted on any
// thread; the emission is relayed to the operation's strand, where it cancels what the
// coroutine awaits (a read, a connect, a wait for a pooled connection). This is the one seam
// for cancellation: an HTTP/2 stream would reset itself here instead of closing a socket.
#pragma once

#include "asio/connection/transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <courier/body_stream.hpp>
#include <courier/error.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <utility>

namespace courier::asio_detail {

class spawned_cancellation : public std::enable_shared_from_this<spawned_cancellation> {
 public:
  /// `strand`: where the operation runs (its coroutine's executor).
  explicit spawned_cancellation(net::any_io_executor strand) : strand_(std::move(strand)) {}

  /// Relays emissions on `caller` of the `accepted` types to this operation. Holds only a weak
  /// reference: a late emission, after the operation ended, does nothing.
  void listen(net::cancellation_slot caller, net::cancellation_type accepted) {
    caller.emplace<relay>(relay{weak_from_this(), accepted});
  }

  /// Bound to the coroutine's completion handler (co_spawn connects it to the coroutine).
  net::cancellation_slot slot() noexcept { return signal_.slot(); }

  /// On the strand: whether the caller asked to cancel before the operation ended.
  bool requested() const noexcept { return requested_; }
  /// On the strand, when the operation ends: emissions after it are ignored.
  void finish() noexcept { finished_ = true; }

  /// Drops the completion handler's reference once the coroutine has unwound: co_spawn calls
  /// its handler from inside the coroutine, whose cancellation state lives in this object's
  /// signal, so the object must outlive that call.
  static void release(std::shared_ptr<spawned_cancellation>&& self) {
    auto strand = self->strand_;
    net::post(strand, [keep = std::move(self)] {});
  }

 private:
  struct relay {
    std::weak_ptr<spawned_cancellation> target;
    net::cancellation_type accepted;
    void operator()(net::cancellation_type type) const {
      if ((type & accepted) == net::cancellation_type::none) return;
      if (auto self = target.lock()) {
        net::post(self->strand_, [self] {
          if (self->finished_ || self->requested_) return;
          self->requested_ = true;
          // The coroutine accepts terminal cancellation (co_spawn's default filter): every
          // operation it awaits ends with operation_aborted, and so does every later co_await.
          self->signal_.emit(net::cancellation_type::terminal);
        });
      }
    }
  };

  net::any_io_executor strand_;
  net::cancellation_signal signal_;
  bool requested_ = false;
  bool finished_ = false;
};

/// co_spawn(strand, op, done), with the caller's cancellation slot relayed to `op` for the
/// `accepted` types. `done(e, value)` runs once (called as an rvalue: it may be a completion
/// handler, whose associated executor and slot are not used); when the caller cancelled and `op`
/// failed (at the wait it was cancelled in), `e` is `cancelled()` instead, which says so in words.
/// With no slot connected nothing is set up, and `cancelled` is never called.
template <class T, class Cancelled, class Done>
void co_spawn_cancellable(net::any_io_executor strand, net::awaitable<T> op,
                          net::cancellation_slot caller, net::cancellation_type accepted,
                          Cancelled cancelled, Done done) {
  if (!caller.is_connected()) {
    net::co_spawn(strand, std::move(op),
                  [done = std::move(done)](std::exception_ptr e, T v) mutable {
                    std::move(done)(e, std::move(v));
                  });
    return;
  }
  auto c = std::make_shared<spawned_cancellation>(strand);
  c->listen(caller, accepted);
  net::co_spawn(strand, std::move(op),
                net::bind_cancellation_slot(
                    c->slot(), [c, cancelled = std::move(cancelled), done = std::move(done)](
                                   std::exception_ptr e, T v) mutable {
                      c->finish();
                      if (e && c->requested()) e = cancelled();
                      std::move(done)(e, std::move(v));
                      spawned_cancellation::release(std::move(c));
                    }));
}

/// body_stream::async_read_some for a streamed response body (HTTP/1.1 or HTTP/2): one read at
/// a time (`busy`, held by `owner`), run as `fill` on `strand`, cancellable with every type; a
/// cancelled read takes nothing and fails with `cancelled()`.
template <class Owner, class Cancelled>
void spawn_body_read(std::shared_ptr<Owner> owner, std::atomic<bool>& busy,
                     net::any_io_executor strand, net::awaitable<std::size_t> fill,
                     Cancelled cancelled, detail::body_stream_source::read_handler done) {
  if (busy.exchange(true)) {
    net::post(strand, [done = std::move(done)]() mutable {
      std::move(done)(
          std::make_exception_ptr(invalid_request(
              "body_stream::async_read_some(): another read of this stream is running")),
          0);
    });
    return;
  }
  // The slot is taken before `done` is moved into the completion.
  const auto cancel = done.get_cancellation_slot();
  co_spawn_cancellable(std::move(strand), std::move(fill), cancel,
                       net::cancellation_type::terminal | net::cancellation_type::partial |
                           net::cancellation_type::total,
                       std::move(cancelled),
                       [owner = std::move(owner), &busy, done = std::move(done)](
                           std::exception_ptr e, std::size_t n) mutable {
                         busy = false;
                         std::move(done)(e, n);
                       });
}

}  // namespace courier::asio_detail
