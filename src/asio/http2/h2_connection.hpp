// One HTTP/2 connection on the Asio backend: the transport and the sans-I/O core
// (proto/http2/client_connection), a read loop and a write loop on a strand of the backend's
// io_context, and the streams of every exchange that shares it. Exchanges may run on any
// executor (the backend's, a coroutine's, a blocking caller's own io_context): the connection
// wakes each on its own executor (a call posted there, or a timer of its own cancelled there),
// or, for a blocking caller, on its thread.
#pragma once

#include "asio/connection/transport.hpp"

#include "core/lazy_fifo.hpp"
#include "proto/http2/client_connection.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace courier::asio_detail {

namespace http2 = courier::proto::http2;

/// A blocking caller waiting in h2_connection::wait_here.
struct h2_blocked_caller {
  std::mutex m;
  std::condition_variable cv;
  bool woken = false;  // under m
};

/// An exchange that waits for its stream without a coroutine (h2_callback_hop): woken by a call
/// on its own executor.
class h2_wakeable {
 public:
  /// On the exchange's executor, once per wait: the stream has an event, is over or failed, or
  /// the wait's deadline passed. `self` is the pointer the wait was registered with.
  virtual void wake(std::shared_ptr<h2_wakeable> self) = 0;

 protected:
  ~h2_wakeable() = default;
};

/// Who waits for a stream's next event, and how the connection wakes them. Held in the stream
/// itself: a wait costs no allocation of its own.
struct h2_waiter {
  enum class kind { none, timer, blocked, callback };
  kind waiting = kind::none;
  // An exchange suspended in wait(): its timer, cancelled on its own executor. The timer is
  // not held: the connection may drop this after the exchange, and the executor the timer
  // lives on, are gone.
  net::any_io_executor ex;
  std::weak_ptr<net::steady_timer> timer;
  // A blocking caller in wait_here().
  std::shared_ptr<h2_blocked_caller> blocked;
  // An exchange in expect_call(), held until it is called (on `ex`), and its deadline, which
  // the connection's one timer keeps.
  std::shared_ptr<h2_wakeable> callback;
  clock::time_point deadline;
};

/// One request's stream, as its exchange sees it. Owned by the exchange and the connection.
struct h2_stream {
  http2::stream_id id = 0;
  // In arrival order, taken by the exchange; room for the usual head, piece of body and end.
  detail::lazy_fifo<http2::event> events{3};
  std::exception_ptr failure;  // the connection failed (or the backend went away)
  bool over = false;           // no more events will come
  bool sending_body = false;   // woken by each write too: there may be room for more body
  h2_waiter waiter;            // set while the exchange waits
};

class h2_connection : public std::enable_shared_from_this<h2_connection> {
 public:
  /// `t` is connected (and speaks HTTP/2: ALPN chose h2, or prior knowledge) and runs on
  /// `strand`. `where` (host:port) names the server in messages.
  h2_connection(std::unique_ptr<transport> t, net::any_io_executor strand, std::string where,
                http2::connection_options options = {});
  ~h2_connection();
  h2_connection(const h2_connection&) = delete;
  h2_connection& operator=(const h2_connection&) = delete;

  /// Starts the read and write loops (the preface and SETTINGS go out first).
  void start();

  /// New streams are accepted: not failed, no GOAWAY sent or received, and not idle (no
  /// stream open or submitted) for longer than `idle_limit`. An idle one is retired instead:
  /// GOAWAY(NO_ERROR), and it closes at once, as its server may be about to.
  bool accepts_streams(std::chrono::milliseconds idle_limit);

  /// Starts a request. Null when the connection stopped taking streams since it was chosen
  /// (it failed, or the server sent GOAWAY): nothing was sent, and the request may go on
  /// another connection. Throws as client_connection::submit_request.
  std::shared_ptr<h2_stream> submit(const http2::request_head& head, bool with_body);
  /// The next piece of a request body (see client_connection::supply_body).
  void supply_body(h2_stream& s, std::string piece, bool end);
  /// Body bytes supplied and not yet sent.
  std::size_t body_buffered(const h2_stream& s) const;
  /// The exchange took `n` body bytes: the windows reopen by that much.
  void consumed(const h2_stream& s, std::size_t n);
  /// The exchange gave up on the stream: RST_STREAM(CANCEL) unless it is over. The connection
  /// lives on.
  void cancel(h2_stream& s);

  /// Waits until the stream has an event, is over or failed, or the connection wrote a batch
  /// (room for more body, while the stream sends one), or `until` passes. Returns false when
  /// `until` passed. Must be awaited on a serialized executor (a strand, or an io_context run by
  /// one thread).
  net::awaitable<bool> wait(const std::shared_ptr<h2_stream>& s, clock::time_point until);
  /// A wait without a timer of its own, for an exchange on the serialized executor `ex`: false
  /// when there is no need (an event is queued, or the stream ended). Else `w` is called on
  /// `ex` once the stream has an event, is over or failed, or `deadline` passed (the
  /// connection's one deadline timer checks every such wait).
  bool expect_call(h2_stream& s, const net::any_io_executor& ex, std::shared_ptr<h2_wakeable> w,
                   clock::time_point deadline);
  /// Takes back a wait of expect_call() that was not woken yet, and returns its `w`; nullptr
  /// when its call is already on its way.
  std::shared_ptr<h2_wakeable> forget_call(h2_stream& s);
  /// The same, blocking the calling thread (for a blocking read of a body stream).
  bool wait_here(const std::shared_ptr<h2_stream>& s, clock::time_point until);
  /// Moves the stream's queued events (`most` at most) to `out`, under one lock; when none is
  /// queued, throws the connection's failure. Returns whether the stream is over and nothing is
  /// left queued.
  bool take_events(h2_stream& s, std::vector<http2::event>& out,
                   std::size_t most = std::size_t(-1));
  /// The stream's next event when one is queued; throws the connection's failure.
  std::optional<http2::event> take_event(h2_stream& s);
  /// No event will come any more and none is queued; throws the connection's failure. Checked
  /// under the lock, as the read loop may queue the last events just after take_event() found
  /// none.
  bool drained(const h2_stream& s) const;
  /// Whether the stream is over or failed (read under the lock, as drained()).
  bool ended(const h2_stream& s) const;

  /// Fails every stream with `failure` and closes the connection (from any thread). Returns
  /// the streams whose exchanges were waiting and are woken now: each expires once its
  /// exchange is over.
  std::vector<std::weak_ptr<h2_stream>> fail(std::exception_ptr failure);

  const std::string& where() const noexcept { return where_; }

 private:
  // wait() in parts. Before it waits on `timer` (of its serialized executor `ex`): false when
  // there is no need (an event is queued, or the stream ended); else the connection cancels
  // the timer, on `ex`, to wake it.
  bool expect_wake(h2_stream& s, const net::any_io_executor& ex,
                   std::weak_ptr<net::steady_timer> timer);
  // Once the timer's wait ended: whether the connection woke it (else it expired, or it was
  // cancelled by another). The stream has no waiter any more.
  bool took_wake(h2_stream& s);
  net::awaitable<void> read_loop();
  net::awaitable<void> write_loop();
  void kick_writer();   // under mutex_
  void route_events();  // under mutex_
  void fail_locked(std::exception_ptr failure, bool close_now,
                   std::vector<std::weak_ptr<h2_stream>>* woken = nullptr);
  void wake(h2_stream& s);  // under mutex_: wakes whoever waits for `s`, if anyone
  // mutex_, held for the scope. The exchanges woken meanwhile are resumed once it is
  // released (those on an executor called, or their timers cancelled, by one post there;
  // blocking callers notified): woken while it is still held, each would run only to wait for it
  // again (a context switch more per read, as the connection's thread holds it while it routes a
  // read's events).
  class locked {
   public:
    explicit locked(const h2_connection& c) : c_(c), lock_(c.mutex_) {}
    ~locked();
    locked(const locked&) = delete;
    locked& operator=(const locked&) = delete;

   private:
    const h2_connection& c_;
    std::unique_lock<std::mutex> lock_;
  };

  // The waiting exchanges on one executor, woken by one handler posted there (their timers
  // cancelled, or they are called): a read that answers many streams posts once per executor,
  // not once per stream.
  struct pending_wakes {
    net::any_io_executor ex;
    net::any_io_executor tracked;  // `ex`, counting as work
    std::vector<std::weak_ptr<net::steady_timer>> timers;
    std::vector<std::shared_ptr<h2_wakeable>> calls;
  };
  pending_wakes& wake_batch(const net::any_io_executor& ex) const;
  // The deadline timer (on the strand): armed at the earliest deadline of the calls expected.
  void arm_deadline();
  void on_deadline();
  void wait_for_deadline();  // under mutex_, on the strand: until deadline_armed_

  mutable std::mutex mutex_;
  mutable std::vector<pending_wakes> to_wake_;                         // under mutex_
  mutable std::vector<std::shared_ptr<h2_blocked_caller>> to_notify_;  // under mutex_
  http2::client_connection core_;
  std::unique_ptr<transport> transport_;
  net::any_io_executor strand_;
  std::string where_;
  std::map<http2::stream_id, std::shared_ptr<h2_stream>> streams_;
  std::exception_ptr failure_;
  net::steady_timer write_signal_;
  net::steady_timer deadline_timer_;
  clock::time_point deadline_armed_ = clock::time_point::max();  // under mutex_
  bool writer_waiting_ = false;
  bool closed_ = false;
  coarse_clock::time_point last_used_ = coarse_clock::now();  // the last submit
};

/// The live HTTP/2 connections of a backend, per pool key: a request uses one that accepts
/// streams, and only when none does is a new one opened (by one request at a time, the others
/// of the same key waiting for it). Requests beyond the server's SETTINGS_MAX_CONCURRENT_STREAMS
/// wait in their connection until a stream ends.
class h2_pool {
 public:
  /// A connection idle (no open stream) for longer than `idle_timeout` is retired instead of
  /// used, as an idle HTTP/1.1 connection is closed instead of reused.
  explicit h2_pool(std::chrono::milliseconds idle_timeout) : idle_timeout_(idle_timeout) {}

  using connector = std::function<net::awaitable<std::shared_ptr<h2_connection>>()>;

  /// A connection for `key` that accepts streams now, or nullptr (then get() waits for one or
  /// makes one). The usual case, without a coroutine frame: most requests find one.
  std::shared_ptr<h2_connection> find(const std::string& key);

  /// A connection for `key` that accepts streams, made with `connect` when there is none.
  /// Waits (until `until`, then timeout_error) while another request of the key connects.
  /// `connect` may make nothing (nullptr: the origin speaks HTTP/1.1); get then returns
  /// nullptr, and each waiting request runs its own `connect` in turn.
  net::awaitable<std::shared_ptr<h2_connection>> get(const std::string& key,
                                                     clock::time_point until,
                                                     const connector& connect);
  /// Fails every connection's streams with operation_aborted (the backend is going away) and
  /// wakes the requests waiting for a connection. Returns one pointer per woken request that
  /// expires once that request is over: the backend lets them finish before its threads stop.
  std::vector<std::weak_ptr<const void>> fail_all(const std::string& why);

 private:
  // A request waiting for another's connection. Its entry holds no part of it (its timer
  // lives on its own executor, which may go away first): it is woken under mutex_, and it
  // takes its entry out under mutex_ however its wait ends.
  struct waiter {
    std::uint64_t id;
    std::function<void()> wake;       // called with mutex_ held
    std::weak_ptr<const void> alive;  // expires when the waiting request moved on
  };
  void forget_waiter(const std::string& key, std::uint64_t id);
  struct per_key {
    std::vector<std::weak_ptr<h2_connection>> live;
    bool connecting = false;
    std::vector<waiter> waiting;
  };
  std::shared_ptr<h2_connection> usable(per_key& k);
  std::chrono::milliseconds idle_timeout_;
  std::uint64_t next_waiter_ = 0;
  std::mutex mutex_;
  std::map<std::string, per_key> keys_;
  bool closed_ = false;
};

}  // namespace courier::asio_detail
