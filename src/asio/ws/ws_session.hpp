// One open WebSocket connection on the Asio backend: it drives the sans-I/O core
// (proto/ws/connection), batches outgoing frames into one write, and hands events to a
// handler (the high-level buffer or a user's listener). I/O runs on one strand; the state is
// guarded by a (recursive) mutex, so that a blocking caller can queue a frame or take a buffered
// message on its own thread without waking the I/O thread.
#pragma once

#include "asio/connection/byte_stream.hpp"
#include "asio/connection/transport.hpp"
#include "asio/ws/session_timer.hpp"
#include "proto/ws/connection.hpp"

#include <courier/ws/frame.hpp>
#include <courier/ws/options.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace courier::asio_detail {

/// Receives what a session sees, on the session's strand.
class ws_event_sink {
 public:
  virtual ~ws_event_sink() = default;
  virtual void on_event(proto::ws::event&& e) = 0;
  /// The connection failed (protocol violation, lost connection, ...). on_closed follows.
  virtual void on_failure(std::exception_ptr error) = 0;
  /// The connection is over; `close` is the peer's close frame or 1006.
  virtual void on_closed(const ws::close_event& close) = 0;
  /// With the session's lock held: true while a receive waits for input (a read on a caller's
  /// io_context goes on while it is).
  virtual bool wants_input() const noexcept { return false; }
  /// With the session's lock held: whether a protocol violation may be reported now. False
  /// while the application has not asked for what comes after the events handed over so far
  /// (some are still buffered, or no receive waits): the session then holds the violation and
  /// its close frame back, so that what the application sends in reply to those events goes
  /// out first (see ws_session::deliver_held_failure).
  virtual bool takes_failure_now() const noexcept { return true; }
};

using ws_strand = net::strand<net::any_io_executor>;

class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  using send_callback = std::function<void(std::exception_ptr)>;

  /// `time`: where the session's timers take their time from (null: the steady clock).
  ws_session(ws_strand strand, std::unique_ptr<byte_stream> t, proto::ws::connection_options core,
             ws::connection_options options, std::string where,
             std::shared_ptr<time_source> time = nullptr);
  ~ws_session();

  /// Starts reading (with `initial` bytes that came after the 101 response) and keep-alive.
  /// With `own_sink`, the session keeps the sink alive; otherwise events stop when it dies.
  void start(std::weak_ptr<ws_event_sink> sink, bool own_sink, std::string initial);

  /// Held while the session's state is used. Every member below takes it; the I/O loops take
  /// it between their waits, and a sink is called with it held. Callers may hold it to run
  /// several steps (a receive) atomically on their own thread.
  std::recursive_mutex& mutex() const noexcept { return mutex_; }

  /// Queues a frame; `done` runs once it is in the core's output (or failed), or later when
  /// the outgoing queue is full (outgoing_full::wait). May run on any thread. True when `done`
  /// ran before send returned (the usual case); otherwise it runs later with mutex() held, and
  /// a caller waiting for it in wait_until() wants wake_waiters() called then.
  /// `cancel_id` (from next_cancel_id()) names a send that cancel_send() may take back while
  /// it waits for room.
  bool send(ws::frame f, bool is_continuation, send_callback done, std::uint64_t cancel_id = 0);
  /// Takes back the send named `cancel_id` if it still waits for room (it never reaches the
  /// wire) and calls its callback with `reason`. False when it was queued or failed already.
  bool cancel_send(std::uint64_t cancel_id, std::exception_ptr reason);
  /// A fresh id for a cancellable send.
  std::uint64_t next_cancel_id() noexcept { return ++last_cancel_id_; }
  /// Queues `f` when that needs no waiting and nothing to call back (the usual case): true then,
  /// with `f` taken, or with `error` set when the core refused the frame. False, with `f`
  /// untouched, when send() must decide (closed, a full queue, frames waiting before it).
  bool send_now(ws::frame& f, bool is_continuation, std::exception_ptr& error);
  /// With mutex() held by `lock`: waits until `done()`, checked after each wake_waiters(), each
  /// input handled and the end of the session.
  void wait_until(std::unique_lock<std::recursive_mutex>& lock, const std::function<bool()>& done);
  /// With mutex() held: wakes the threads in wait_until() and read_here_until().
  void wake_waiters() { notify_input(); }
  /// Starts the close handshake; `done` runs when it ends (or close_timeout passes).
  void close(std::uint16_t code, std::string reason, send_callback done);
  /// Fails the connection: sends a close frame with `code` and drops the TCP connection.
  void fail(std::uint16_t code, std::string reason, std::exception_ptr error);
  /// A close whose caller stopped waiting (its cancellation): drops the TCP connection now,
  /// without waiting for the peer's close frame.
  void abandon_close();
  /// With mutex() held: the application asks for what comes next (a receive waits with
  /// nothing buffered), so a protocol violation held back behind the events before it is
  /// reported now: our close frame is queued after whatever was sent meanwhile, and the sink
  /// gets the failure. Does nothing when no violation is held. It is reported anyway once
  /// close_timeout has passed, on close() and on any other failure.
  void deliver_held_failure();
  /// For a blocking receive whose receiver waits: reads and handles input on the calling thread
  /// until `served()`, so that a round trip involves no other thread. While the I/O thread's
  /// read loop runs, it waits for that loop to stop (after its next read), and while another
  /// caller reads, for that one. False when this stream is only read by the loop (TLS, the
  /// stub's pipe): the caller then waits for the I/O thread. Input is read in the background
  /// again once no blocking receive came for a moment, or when an async receive or a close
  /// needs it.
  bool read_here_until(
      const std::function<bool()>& served,
      std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
  /// The same with mutex() held by `lock` (held again when it returns).
  bool read_here_until(std::unique_lock<std::recursive_mutex>& lock,
                       const std::function<bool()>& served);
  /// The same, giving up at `deadline` (a receive with a timeout): it returns true then too,
  /// with `served()` still false.
  bool read_here_until(std::unique_lock<std::recursive_mutex>& lock,
                       const std::function<bool()>& served,
                       std::optional<std::chrono::steady_clock::time_point> deadline);
  /// An async receive or a close needs input: restarts background reading if it was stopped.
  void want_background_reading();
  /// An async receive whose completion runs on `ctx` (a coroutine's io_context) needs input:
  /// the socket is read on that context's own reactor while the sink wants_input(), so that a
  /// round trip involves no other thread, as read_here_until() does for a blocking receive.
  /// Reading goes back to the I/O thread once no such receive came for a moment, when a
  /// blocking receive or a close needs it, and when `ctx` is destroyed. Where the stream
  /// cannot be read so (TLS, the stub's pipe), this is want_background_reading().
  void want_reading_on(net::io_context& ctx);
  /// No async receive waits any more (the last one was cancelled): a read waiting on a caller's
  /// io_context is cancelled (it takes nothing) and the I/O thread reads again, so that the
  /// caller's run() is not kept going by a read nobody wants.
  void stop_reading_for_caller();
  /// `ctx` is being destroyed (its guest_registry shuts down): stops reading on it. A read
  /// still in flight there fails the connection, as its bytes may be lost with the context.
  void leave_context(net::execution_context& ctx);
  /// Reading stops while paused (backpressure) and resumes on resume().
  void pause() noexcept;
  void resume();
  /// The same with mutex() held.
  void resume_held();
  bool is_open() const noexcept { return open_.load(std::memory_order_relaxed); }

  const ws_strand& strand() const noexcept { return strand_; }
  const std::string& where() const noexcept { return where_; }
  /// A timer on the session's strand and time (a receive timeout's).
  std::unique_ptr<session_timer> make_timer() const {
    return std::make_unique<session_timer>(strand_, time_);
  }

 private:
  struct pending_send {
    ws::frame frame;
    bool is_continuation;
    send_callback done;
    std::uint64_t cancel_id = 0;
  };

  net::awaitable<void> read_loop(std::string initial);
  /// Hands bytes read (by the loop or a caller) to the core and their events to the sink.
  void handle_input(std::string_view data, const boost::system::error_code& ec);
  void restart_read_loop();
  /// How much the next read asks for: all of `direct` (the rest of a payload, read into its
  /// string) when there is some, else up to `buffer_size` bytes.
  std::size_t read_size(std::size_t buffer_size, std::span<char> direct);
  void watch_parked_reader();
  /// Where a read on a caller's thread or context goes: the rest of a long payload straight
  /// into its message's string (`direct`), else the caller's read buffer.
  net::mutable_buffer caller_read_buffer(bool& direct);
  /// Hands such a read's `n` bytes (or its error) to the core, and grows the buffer after a
  /// read that filled it.
  void take_caller_read(bool direct, std::size_t n, const boost::system::error_code& ec);
  /// Hands reading to the guest's context: true once the socket is registered there.
  bool adopt_guest();
  /// Starts one read on the guest's context, and handles what it brings.
  void guest_read();
  void on_guest_read(std::uint64_t generation, bool direct, boost::system::error_code ec,
                     std::size_t n);
  /// Unregisters the socket from the guest's context (a read in flight there is abandoned).
  void drop_guest();
  void cancel_timers();
  /// Closes the socket, or only shuts it down while a caller's thread is blocked reading it
  /// (that thread closes it when it returns, so the descriptor cannot be reused under it).
  void close_transport();
  net::awaitable<void> write_loop();
  net::awaitable<void> keepalive_loop();
  /// Hands the core's events to the sink. A protocol violation the sink does not take yet
  /// (takes_failure_now) stays in the core, unless `take_failure`.
  void drain_events(bool take_failure = false);
  /// Starts holding the violation at the front of the core's events: true while it waits.
  bool hold_failure();
  void apply_send(pending_send&& s);
  void pump_deferred();
  bool send_locked(ws::frame f, bool is_continuation, send_callback done,
                   std::uint64_t cancel_id);  // as send()
  void close_locked(std::uint16_t code, std::string reason, send_callback done);
  /// Starts the writer if there is output and none runs. Off the strand it only marks the
  /// writer as wanted (writer_to_spawn_); send() and close() start it after unlocking.
  void flush();
  void spawn_writer();
  /// On a caller's thread with no writer running: writes what the socket takes now. False
  /// when the write failed (the writer then reports it).
  bool write_from_caller();
  void finish(const ws::close_event& close);
  /// Runs `f` on the strand (now, if already there), with the lock held.
  template <class F>
  void on_strand(F f);
  void fail_all_sends(std::exception_ptr e);
  std::uint64_t queued_bytes() const noexcept;

  std::shared_ptr<time_source> time_;  // null: the steady clock
  ws_strand strand_;
  std::unique_ptr<byte_stream> transport_;  // TCP/TLS, or an in-memory pipe (stub backend)
  proto::ws::connection core_;
  mutable std::recursive_mutex mutex_;
  ws::connection_options options_;
  std::string where_;
  std::weak_ptr<ws_event_sink> sink_;
  std::shared_ptr<ws_event_sink> owned_sink_;

  std::atomic<bool> open_{true};  // no close frame exchanged and no failure yet
  bool finished_ = false;         // on_closed was reported
  bool paused_ = false;
  bool writing_ = false;
  bool writer_to_spawn_ = false;
  bool send_now_ = true;  // the next send from a caller's thread may write on that thread
  // Who reads the socket: the read loop on the strand, nobody (parked: blocking receives read
  // on their own threads), or a caller's thread right now.
  // Or an async receive's io_context (guest_), whose reactor waits for input.
  enum class reader { loop, parked, caller, guest };
  reader reader_ = reader::loop;
  bool bulk_input_ = false;         // the loop's last read was large (bulk_bytes or more)
  bool after_direct_read_ = false;  // the last read went straight into a payload
  bool park_wanted_ = false;        // a blocking receive asked the loop to stop reading
  bool close_after_read_ = false;   // close_transport() ran while a caller was reading
  coarse_clock::time_point last_caller_read_{};
  std::unique_ptr<net::steady_timer> park_timer_;
  std::unique_ptr<char[]> caller_buffer_;
  std::size_t caller_buffer_size_ = 0;
  std::vector<net::const_buffer> caller_pieces_;  // the output's pieces, for write_from_caller
  // A caller's io_context that async receives read on: a duplicate of the socket's descriptor,
  // registered with that context's reactor (the I/O thread's registration is left alone).
  struct guest;
  std::unique_ptr<guest> guest_;
  std::uint64_t guest_generation_ = 0;  // tells a dropped guest's late completion apart
  bool guest_reading_ = false;          // a read is in flight on the guest's context
  bool loop_after_guest_ = false;       // once that read ends, the I/O thread reads again
  // Blocking receives wait here for the read loop to stop or another caller's read to end.
  std::condition_variable_any input_cv_;
  int input_waiters_ = 0;  // threads in input_cv_.wait: a notify costs nothing without them
  void wait_input(std::unique_lock<std::recursive_mutex>& lock,
                  std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt) {
    ++input_waiters_;
    if (deadline) {
      input_cv_.wait_until(lock, *deadline);
    } else {
      input_cv_.wait(lock);
    }
    --input_waiters_;
  }
  void notify_input() {
    if (input_waiters_ > 0) input_cv_.notify_all();
  }
  bool message_open_ = false;  // a fragmented message we send is not finished
  std::unique_ptr<net::steady_timer> resume_timer_;
  std::unique_ptr<session_timer> close_timer_;
  // A protocol violation waits in the core for the application (deliver_held_failure), at
  // most close_timeout (failure_timer_).
  bool failure_held_ = false;
  std::unique_ptr<session_timer> failure_timer_;
  std::unique_ptr<session_timer> keepalive_timer_;
  bool awaiting_pong_ = false;
  proto::ws::output_queue write_buffer_;  // swapped with the core's output for each write
  std::uint64_t moved_ = 0;               // bytes taken from the core into write_buffer_
  std::uint64_t written_ = 0;             // bytes written to the socket
  std::deque<pending_send> deferred_;     // waiting for room, or for a fragmented message to end
  std::vector<send_callback> close_waiters_;
  std::exception_ptr failure_;
  std::atomic<std::uint64_t> last_cancel_id_{0};
  std::optional<ws::close_event> peer_close_;
};

}  // namespace courier::asio_detail
