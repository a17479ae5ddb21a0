// The timers of an open WebSocket (keep-alive pings, pong and close timeouts, receive timeouts)
// and where they take their time from: the steady clock on the asio backend, or a test's
// virtual clock on a stub_backend made with one, so that a test moves a 30 s keep-alive on
// without waiting 30 s.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace courier::asio_detail {

/// Time other than the steady clock's.
class time_source {
 public:
  virtual ~time_source() = default;
  /// Calls `fire`, from any thread, once `d` has passed on this source's time. It may never
  /// be called (the source went away first).
  virtual void call_after(std::chrono::milliseconds d, std::function<void()> fire) = 0;
};

/// A timer with steady_timer's interface for what sessions use of it, on the steady clock or
/// on a time_source. Handlers run on the strand; like steady_timer, it is not thread-safe.
class session_timer {
 public:
  using strand_type = boost::asio::strand<boost::asio::any_io_executor>;
  using wait_handler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

  /// `source` null: the steady clock.
  session_timer(strand_type strand, std::shared_ptr<time_source> source);
  ~session_timer();
  session_timer(const session_timer&) = delete;
  session_timer& operator=(const session_timer&) = delete;

  /// Sets the expiry `d` from now; a wait pending completes with operation_aborted.
  void expires_after(std::chrono::milliseconds d);
  /// Waits for the expiry: success then, or operation_aborted when cancelled or re-set.
  template <class Token>
  auto async_wait(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) { start_wait(wait_handler(std::move(handler))); }, token);
  }
  /// Completes a pending wait with operation_aborted.
  void cancel();

 private:
  struct virtual_wait;
  void start_wait(wait_handler h);

  strand_type strand_;
  std::unique_ptr<boost::asio::steady_timer> steady_;  // on the steady clock
  std::shared_ptr<time_source> source_;                // else on this
  std::shared_ptr<virtual_wait> virtual_;
};

}  // namespace courier::asio_detail
