#include "asio/ws/ws_handlers.hpp"

#include "asio/backend_impl.hpp"

#include <courier/error.hpp>
#include <courier/ws/stream.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

namespace courier::ws {

namespace net = asio_detail::net;

// --- the high-level buffer ---------------------------------------------------------------------

websocket::state::~state() {
  // The last handle is gone: nobody can read any more, so say goodbye to the peer (unless the
  // backend is gone too, and with it the threads that would do it).
  if (backend->stopped) return;
  auto s = session;
  net::post(s->strand(), [s] { s->close(close_code::going_away, {}, nullptr); });
}

void websocket::state::push(item it) {
  buffer.push_back(std::move(it));
  pump();
}

void websocket::state::on_event(proto::ws::event&& e) {
  frame f;
  if (auto* d = std::get_if<proto::ws::data_event>(&e)) {
    f = frame{d->is_continuation ? opcode::continuation : d->message_type,
              d->fin,
              d->rsv1,
              d->rsv2,
              d->rsv3,
              std::move(d->payload)};
  } else if (auto* p = std::get_if<proto::ws::ping_event>(&e)) {
    if (!options.surface_pings && options.auto_pong) return;
    f = frame::ping(std::move(p->payload));
  } else if (auto* p = std::get_if<proto::ws::pong_event>(&e)) {
    if (!options.surface_pings) return;
    f = frame::pong(std::move(p->payload));
  } else {
    return;
  }
  if (options.capacity && buffer.size() >= *options.capacity) {
    if (options.on_full == on_full::fail) {
      session->fail(
          close_code::policy_violation, "receive buffer full",
          std::make_exception_ptr(websocket_buffer_full(
              "the receive buffer of the WebSocket to " + session->where() + " (" +
              std::to_string(*options.capacity) + " events) is full; the connection was closed")));
      return;
    }
  }
  buffer.push_back(std::move(f));
  if (options.on_full == on_full::backpressure && options.capacity &&
      buffer.size() >= *options.capacity) {
    session->pause();
  }
  pump();
}

void websocket::state::on_failure(std::exception_ptr error) {
  open = false;
  push(error);
}

void websocket::state::on_closed(const close_event& close) {
  open = false;
  final_close = close;
  push(close);
}

std::uint64_t websocket::state::add_receiver(receiver r) {
  std::lock_guard lock(session->mutex());
  const std::uint64_t id = ++last_receiver_id;
  receivers.push_back(waiting_receiver{std::move(r), id});
  pump();
  return id;
}

bool websocket::state::cancel_receiver(std::uint64_t id, std::exception_ptr reason) {
  std::lock_guard lock(session->mutex());
  const auto it = std::find_if(receivers.begin(), receivers.end(),
                               [id](const waiting_receiver& w) { return w.id == id; });
  if (it == receivers.end()) return false;
  receiver serve = std::move(it->serve);
  receivers.erase(it);
  std::vector<frame> given_back;
  item cancelled = cancelled_receive{std::move(reason), &given_back};
  serve(cancelled);
  for (auto f = given_back.rbegin(); f != given_back.rend(); ++f)
    buffer.push_front(std::move(*f));
  pump();  // a receive queued behind it may be served by what came back
  if (receivers.empty()) session->stop_reading_for_caller();
  return true;
}

void websocket::state::pump() {
  while (!receivers.empty()) {
    if (buffer.empty()) {
      if (!terminal) break;
      item closed = std::make_exception_ptr(
          websocket_closed("the WebSocket to " + session->where() + " is closed", final_close));
      if (receivers.front().serve(closed)) receivers.pop_front();
      continue;
    }
    item it = std::move(buffer.front());
    buffer.pop_front();
    if (std::holds_alternative<close_event>(it)) terminal = true;
    if (receivers.front().serve(it)) receivers.pop_front();
  }
  // Reports the failure into the buffer, which serves the receivers (pump runs again).
  if (!receivers.empty() && buffer.empty() && !terminal) session->deliver_held_failure();
  if (options.capacity && buffer.size() < *options.capacity) session->resume_held();
}

namespace {

// Posts `f` to a handler's executor: never inline, because a completion may come inside the
// initiating call (a frame queued at once, a message already buffered). A type-erased
// completion executor cannot be posted to, so when it wraps an io_context's executor (a
// coroutine's, the usual case) that one is used, from the caller's own thread without a
// wake-up; otherwise the completion goes through the backend's executor first.
template <class Executor, class F>
void post_completion(const Executor& target, const net::any_io_executor& io, F f) {
  if constexpr (std::is_same_v<Executor, net::any_completion_executor>) {
    if (const auto* any = target.template target<net::any_io_executor>()) {
      net::post(*any, std::move(f));
      return;
    }
    if (const auto* ioc = target.template target<net::io_context::executor_type>()) {
      net::post(*ioc, std::move(f));
      return;
    }
    net::post(io, [target, f = std::move(f)]() mutable { net::dispatch(target, std::move(f)); });
  } else {
    net::post(target, std::move(f));
  }
}

// Turns a completion into a callback taking an error and the values. The handler runs on its
// associated executor (a coroutine's, say), or on a backend thread when it has none. `hint` is
// that executor when the caller knew it as an any_io_executor (websocket's async_ members do).
// `caller`, when given, is set to the io_context the handler runs on, if that is known (else
// nullptr).
template <class... T, class Handler>
std::function<void(std::exception_ptr, T...)> async_callback(Handler h,
                                                             const net::any_io_executor& io,
                                                             const net::any_io_executor& hint,
                                                             net::io_context** caller = nullptr) {
  if (const auto* ioc = hint.target<net::io_context::executor_type>()) {
    // The usual case, a coroutine's io_context: it tracks the pending work itself, and the
    // completion is posted there directly. One allocation for the handler and that work.
    if (caller) *caller = &ioc->context();
    using tracked =
        std::decay_t<decltype(net::prefer(*ioc, net::execution::outstanding_work.tracked))>;
    struct op {
      Handler handler;
      tracked work;
    };
    auto o = std::make_shared<op>(
        op{std::move(h), net::prefer(*ioc, net::execution::outstanding_work.tracked)});
    return [o](std::exception_ptr e, T... value) {
      // Released when this returns, after post() has: see below.
      const tracked work = std::move(o->work);
      net::post(work, [o, e, ... value = std::move(value)]() mutable {
        std::move(o->handler)(e, std::move(value)...);
      });
    };
  }
  if (caller) *caller = nullptr;
  auto ex = net::get_associated_executor(h, io);
  auto work = std::make_shared<net::executor_work_guard<decltype(ex)>>(ex);
  auto shared = std::make_shared<Handler>(std::move(h));
  return [shared, work, io](std::exception_ptr e, T... value) {
    post_completion(work->get_executor(), io, [shared, e, ... value = std::move(value)]() mutable {
      std::move (*shared)(e, std::move(value)...);
    });
    // Released here, after post() has returned, not by the handler: otherwise the context's
    // run() could return, and the context be destroyed, while this thread is still inside
    // post() waking it (ThreadSanitizer saw exactly that).
    work->reset();
  };
}

// Completes `h` at once (posted, never inline) with `e` and `values`: on a coroutine's
// io_context, with no callback and no allocation of ours.
template <class Handler, class... T>
void complete_now(Handler h, const net::any_io_executor& io, const net::any_io_executor& hint,
                  std::exception_ptr e, T... values) {
  if (const auto* ioc = hint.target<net::io_context::executor_type>()) {
    net::post(*ioc, [h = std::move(h), e, ... v = std::move(values)]() mutable {
      std::move(h)(e, std::move(v)...);
    });
    return;
  }
  async_callback<T...>(std::move(h), io, hint)(e, std::move(values)...);
}

// The result of a blocking call, filled by a callback that may run on this thread (when the
// call completes at once) or on an I/O thread. Lives on the caller's stack: no allocation.
template <class T>
class sync_result {
 public:
  void set(std::exception_ptr e, T v) {
    std::lock_guard lock(mutex_);
    error_ = e;
    if (!e) value_.emplace(std::move(v));
    done_ = true;
    if (waiting_) ready_.notify_one();
  }
  bool ready() {
    std::lock_guard lock(mutex_);
    return done_;
  }
  /// Waits until the result is set or `deadline` passes; true when it is set.
  bool wait_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    waiting_ = true;
    return ready_.wait_until(lock, deadline, [&] { return done_; });
  }
  T get() {
    std::unique_lock lock(mutex_);
    if (!done_) {
      waiting_ = true;
      ready_.wait(lock, [&] { return done_; });
    }
    if (error_) std::rethrow_exception(error_);
    return std::move(*value_);
  }
  std::function<void(std::exception_ptr, T)> callback() {
    return [this](std::exception_ptr e, T v) { set(e, std::move(v)); };
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  bool done_ = false;
  bool waiting_ = false;
  std::exception_ptr error_;
  std::optional<T> value_;
};

// Runs `start` with a callback and blocks until it is called: the sync API.
template <class T>
T wait_for(websocket::state& st,
           const std::function<void(std::function<void(std::exception_ptr, T)>)>& start) {
  st.backend->check_blocking_allowed("a blocking websocket call");
  sync_result<T> result;
  start(result.callback());
  return result.get();
}

using deadline_type = std::optional<std::chrono::steady_clock::time_point>;

std::string ms_text(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

std::exception_ptr receive_timed_out(const websocket::state& st, std::chrono::milliseconds d) {
  return std::make_exception_ptr(
      timeout_error("receive timeout: no message from the WebSocket peer " + st.session->where() +
                    " within " + ms_text(d) + "; nothing was taken and the connection stays open"));
}

// The same for a receive: while it waits, the calling thread reads the socket itself when the
// session allows it (ws_session::read_here_until), so a round trip stays on this thread.
// `start` adds the receiver and returns its id. With a `timeout`, a receive that has not been
// served by then is taken back (nothing consumed) and throws timeout_error; `deadline`, when
// given, is when that timeout ends (a caller that already waited part of it).
template <class T>
T wait_for_input(
    websocket::state& st,
    const std::function<std::uint64_t(std::function<void(std::exception_ptr, T)>)>& start,
    std::optional<std::chrono::milliseconds> timeout, deadline_type deadline = std::nullopt) {
  st.backend->check_blocking_allowed("a blocking websocket call");
  if (timeout && !deadline)
    deadline = asio_detail::after(std::chrono::steady_clock::now(), *timeout);
  sync_result<T> result;
  const std::uint64_t id = start(result.callback());
  if (!result.ready()) st.session->read_here_until([&] { return result.ready(); }, deadline);
  if (deadline && !result.wait_until(*deadline))
    st.cancel_receiver(id, receive_timed_out(st, *timeout));
  return result.get();
}

using item = websocket::state::item;

websocket::state::receiver frame_receiver(std::function<void(std::exception_ptr, incoming)> cb) {
  return [cb = std::move(cb)](item& it) {
    if (auto* f = std::get_if<frame>(&it)) {
      cb(nullptr, incoming(std::move(*f)));
    } else if (auto* c = std::get_if<close_event>(&it)) {
      cb(nullptr, incoming(std::move(*c)));
    } else if (auto* cancelled = std::get_if<websocket::state::cancelled_receive>(&it)) {
      cb(cancelled->reason, incoming{});
    } else {
      cb(std::get<std::exception_ptr>(it), incoming{});
    }
    return true;
  };
}

websocket::state::receiver message_receiver(std::function<void(std::exception_ptr, message)> cb,
                                            std::string where) {
  // A fragmented message's frames are kept as they come and joined once at the end: one copy
  // into a string of the right size, not a string regrown (and recopied) at every fragment.
  struct fragments {
    opcode type = opcode::text;
    std::vector<std::string> parts;
  };
  std::shared_ptr<fragments> partial;  // made at a message's first fragment only
  return [cb = std::move(cb), partial, where](item& it) mutable {
    if (auto* f = std::get_if<frame>(&it)) {
      if (f->is_control()) return false;  // surfaced pings and pongs are not messages
      if (f->fin && (!partial || partial->parts.empty())) {
        cb(nullptr,
           message{f->op == opcode::binary ? opcode::binary : opcode::text, std::move(f->payload)});
        return true;
      }
      if (!partial) partial = std::make_shared<fragments>();
      if (partial->parts.empty())
        partial->type = f->op == opcode::binary ? opcode::binary : opcode::text;
      partial->parts.push_back(std::move(f->payload));
      if (!f->fin) return false;
      message m{partial->type, {}};
      if (partial->parts.size() == 1) {
        m.data = std::move(partial->parts.front());
      } else {
        std::size_t total = 0;
        for (const auto& p : partial->parts)
          total += p.size();
        m.data.reserve(total);
        for (const auto& p : partial->parts)
          m.data += p;
      }
      partial->parts.clear();
      cb(nullptr, std::move(m));
      return true;
    }
    if (auto* c = std::get_if<close_event>(&it)) {
      cb(std::make_exception_ptr(
             websocket_closed("the WebSocket to " + where + " was closed by the peer (" +
                                  std::to_string(c->code) + " " + c->reason + ")",
                              *c)),
         message{});
      return true;
    }
    if (auto* cancelled = std::get_if<websocket::state::cancelled_receive>(&it)) {
      // The fragments taken so far go back, as the frames they came in.
      if (partial) {
        bool first = true;
        for (auto& p : partial->parts) {
          cancelled->give_back->push_back(frame{first ? partial->type : opcode::continuation, false,
                                                false, false, false, std::move(p)});
          first = false;
        }
        partial->parts.clear();
      }
      cb(cancelled->reason, message{});
      return true;
    }
    cb(std::get<std::exception_ptr>(it), message{});
    return true;
  };
}

std::exception_ptr wrong_type(opcode want, opcode got) {
  return std::make_exception_ptr(decode_error(
      std::string("expected a ") + (want == opcode::text ? "text" : "binary") +
      " message but received a " + (got == opcode::text ? "text" : "binary") + " one"));
}

std::function<void(std::exception_ptr, message)> expect_type(
    opcode want, std::function<void(std::exception_ptr, message)> cb) {
  return [want, cb = std::move(cb)](std::exception_ptr e, message m) {
    if (!e && m.type != want) e = wrong_type(want, m.type);
    cb(e, std::move(m));
  };
}

std::vector<std::byte> to_bytes(const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

// Receives and sends run on the calling thread, under the session's lock (no hop to the I/O
// thread); their completions are posted to the handler's executor. Nobody blocks to read for
// an async receive: its own io_context reads when it has one, else the I/O thread.
std::uint64_t post_receiver(const std::shared_ptr<websocket::state>& st,
                            websocket::state::receiver r, net::io_context* ctx = nullptr) {
  const std::uint64_t id = st->add_receiver(std::move(r));
  if (ctx) {
    st->session->want_reading_on(*ctx);
  } else {
    st->session->want_background_reading();
  }
  return id;
}

// Takes back an async receive when its caller's cancellation slot is emitted (any type:
// nothing has been consumed).
struct receive_canceller {
  std::weak_ptr<websocket::state> state;
  std::uint64_t id;
  void operator()(net::cancellation_type) const {
    if (auto st = state.lock()) {
      st->cancel_receiver(id, std::make_exception_ptr(operation_aborted(
                                  "the receive on the WebSocket to " + st->session->where() +
                                  " was cancelled; nothing was taken")));
    }
  }
};

// A receive timer, armed on the session's strand unless the receive completed first.
struct receive_timer {
  explicit receive_timer(const asio_detail::ws_session& s) : timer(s.make_timer()) {}
  std::unique_ptr<asio_detail::session_timer> timer;
  std::atomic<bool> completed{false};
};

// The completion of an async receive with a timeout also stops its timer.
template <class T>
std::function<void(std::exception_ptr, T)> stopping(std::shared_ptr<receive_timer> t,
                                                    const asio_detail::ws_strand& strand,
                                                    std::function<void(std::exception_ptr, T)> cb) {
  return [t = std::move(t), strand, cb = std::move(cb)](std::exception_ptr e, T v) {
    if (!t->completed.exchange(true)) net::post(strand, [t] { t->timer->cancel(); });
    cb(e, std::move(v));
  };
}

// Connects a waiting async receive to its caller's cancellation slot and to its timeout.
void watch_receive(const std::shared_ptr<websocket::state>& st, std::uint64_t id,
                   net::cancellation_slot slot, const std::shared_ptr<receive_timer>& timer,
                   std::optional<std::chrono::milliseconds> timeout) {
  if (slot.is_connected()) slot.emplace<receive_canceller>(receive_canceller{st, id});
  if (!timer) return;
  net::post(st->session->strand(), [weak = std::weak_ptr(st), id, timer, d = *timeout] {
    if (timer->completed) return;
    timer->timer->expires_after(d);
    timer->timer->async_wait([weak, id, timer, d](boost::system::error_code ec) {
      if (ec) return;
      if (auto st = weak.lock()) st->cancel_receiver(id, receive_timed_out(*st, d));
    });
  });
}

// Takes back a send still waiting for room in the outgoing queue.
struct send_canceller {
  std::weak_ptr<asio_detail::ws_session> session;
  std::uint64_t id;
  void operator()(net::cancellation_type) const {
    if (auto s = session.lock()) {
      s->cancel_send(id, std::make_exception_ptr(operation_aborted(
                             "the send to the WebSocket peer " + s->where() +
                             " was cancelled while it waited for room; nothing of it was sent")));
    }
  }
};

// Stops waiting for the peer's close frame: the connection is dropped.
struct close_canceller {
  std::weak_ptr<asio_detail::ws_session> session;
  std::shared_ptr<std::atomic<bool>> abandoned;
  void operator()(net::cancellation_type type) const {
    if ((type & net::cancellation_type::terminal) == net::cancellation_type::none) return;
    if (auto s = session.lock()) {
      abandoned->store(true);
      s->abandon_close();
    }
  }
};

void post_send(const std::shared_ptr<websocket::state>& st, frame f, bool cont,
               std::function<void(std::exception_ptr)> done, std::uint64_t cancel_id = 0) {
  st->session->send(std::move(f), cont, std::move(done), cancel_id);
}

// A whole message waiting at the front of the buffer (the common case when messages arrive
// faster than they are taken), taken on the caller's thread with no receiver and no wake-up.
// Only when no earlier receive is still waiting, so that receives are served in order. With
// the session's lock held.
std::optional<message> take_buffered_message(websocket::state& st) {
  if (!st.receivers.empty() || st.buffer.empty()) return std::nullopt;
  auto* f = std::get_if<frame>(&st.buffer.front());
  if (!f || !f->fin || (f->op != opcode::text && f->op != opcode::binary)) return std::nullopt;
  message m{f->op, std::move(f->payload)};
  st.buffer.pop_front();
  st.pump();  // resumes reading if the buffer was full
  return m;
}

// The same, taking the session's lock.
std::optional<message> take_buffered(websocket::state& st) {
  std::lock_guard lock(st.session->mutex());
  return take_buffered_message(st);
}

// Blocking receives take a whole message from the buffer when it holds one. The usual case
// after that: nothing is buffered, no other receiver waits and the socket is open, so this
// thread reads until something is buffered, and takes it from there (no receiver, callback or
// wake-up), all under one hold of the session's lock but for the read itself. Anything else
// (fragments, a close, an error, other receivers, reads left to the I/O thread) goes through a
// receiver added on the caller's thread, which the buffer or an I/O thread completes.
message blocking_receive_message(const std::shared_ptr<websocket::state>& st,
                                 std::optional<opcode> want,
                                 std::optional<std::chrono::milliseconds> timeout) {
  st->backend->check_blocking_allowed("a blocking websocket call");
  if (!timeout) timeout = st->options.receive_timeout;
  deadline_type deadline;
  if (timeout) deadline = asio_detail::after(std::chrono::steady_clock::now(), *timeout);
  {
    std::unique_lock lock(st->session->mutex());
    for (;;) {
      if (auto m = take_buffered_message(*st)) {
        lock.unlock();
        if (want && m->type != *want) std::rethrow_exception(wrong_type(*want, m->type));
        return std::move(*m);
      }
      const bool only_reader =
          st->buffer.empty() && st->receivers.empty() && !st->terminal && st->open.load();
      if (!only_reader) break;
      const bool read = st->session->read_here_until(
          lock, [&] { return !st->buffer.empty() || !st->receivers.empty(); }, deadline);
      if (!read) break;  // the I/O thread reads: wait for it below
      // Each turn buffers something new or ends here (a finished session with nothing
      // buffered, another receiver that came meanwhile, or the deadline): never a spin.
      if (st->buffer.empty()) {
        if (deadline && std::chrono::steady_clock::now() >= *deadline && st->receivers.empty() &&
            !st->terminal && st->open.load()) {
          std::rethrow_exception(receive_timed_out(*st, *timeout));
        }
        break;
      }
    }
  }
  return wait_for_input<message>(
      *st,
      [&](std::function<void(std::exception_ptr, message)> cb) {
        if (want) cb = expect_type(*want, std::move(cb));
        return st->add_receiver(message_receiver(std::move(cb), st->session->where()));
      },
      timeout, deadline);
}

}  // namespace

incoming websocket::receive() {
  auto st = state_;
  return wait_for_input<incoming>(
      *st, [st](auto cb) { return st->add_receiver(frame_receiver(std::move(cb))); },
      st->options.receive_timeout);
}

message websocket::receive_message() {
  return blocking_receive_message(state_, std::nullopt, std::nullopt);
}

std::string websocket::receive_text() {
  return blocking_receive_message(state_, opcode::text, std::nullopt).data;
}

std::vector<std::byte> websocket::receive_binary() {
  return to_bytes(blocking_receive_message(state_, opcode::binary, std::nullopt).data);
}

incoming websocket::receive(std::chrono::milliseconds timeout) {
  auto st = state_;
  return wait_for_input<incoming>(
      *st, [st](auto cb) { return st->add_receiver(frame_receiver(std::move(cb))); }, timeout);
}

message websocket::receive_message(std::chrono::milliseconds timeout) {
  return blocking_receive_message(state_, std::nullopt, timeout);
}

std::string websocket::receive_text(std::chrono::milliseconds timeout) {
  return blocking_receive_message(state_, opcode::text, timeout).data;
}

std::vector<std::byte> websocket::receive_binary(std::chrono::milliseconds timeout) {
  return to_bytes(blocking_receive_message(state_, opcode::binary, timeout).data);
}

// Queues the frame on the caller's thread (the session is guarded by its lock); the I/O
// thread is woken only when its writer is idle. Returns once the frame is queued.
void websocket::send(frame f, bool is_continuation) {
  state_->backend->check_blocking_allowed("a blocking websocket call");
  asio_detail::ws_session& session = *state_->session;
  // `done` runs with the session's lock held: within send() as a rule, or later on another
  // thread when the outgoing queue is full (then it wakes this thread, which waits below).
  struct outcome {
    bool done = false;
    bool waiting = false;
    std::exception_ptr error;
  } sent;
  const bool done_now = session.send(std::move(f), is_continuation, [&](std::exception_ptr e) {
    sent.error = e;
    sent.done = true;
    if (sent.waiting) session.wake_waiters();
  });
  if (!done_now) {
    std::unique_lock lock(session.mutex());
    sent.waiting = true;
    session.wait_until(lock, [&] { return sent.done; });
  }
  if (sent.error) std::rethrow_exception(sent.error);
}

void websocket::send_text(std::string text) {
  send(frame::text(std::move(text)));
}
void websocket::send_binary(std::span<const std::byte> bytes) {
  send(frame::binary(bytes));
}
void websocket::send_binary(std::string bytes) {
  send(frame::binary(std::move(bytes)));
}
void websocket::ping(std::string payload) {
  send(frame::ping(std::move(payload)));
}

void websocket::close(std::uint16_t code, std::string_view reason) {
  auto st = state_;
  std::string r(reason);
  wait_for<bool>(*st, [&](std::function<void(std::exception_ptr, bool)> cb) {
    // On this thread, like send, so that it stays in order with the sends before it.
    st->session->close(code, std::move(r), [cb](std::exception_ptr e) { cb(e, true); });
  });
}

bool websocket::is_open() const noexcept {
  return state_ && state_->open.load() && state_->session->is_open();
}
const courier::headers& websocket::upgrade_headers() const noexcept {
  return state_->upgrade_headers;
}
const std::optional<std::string>& websocket::subprotocol() const noexcept {
  return state_->subprotocol;
}
bool websocket::compressed() const noexcept {
  return state_->compressed;
}

// Async receives read on the handler's io_context when it has one (a coroutine's), unless
// that is the backend's own.
net::io_context* reading_context(net::io_context* caller, const websocket::state& st) {
  return caller == &st.backend->ioc ? nullptr : caller;
}

namespace {
// An async receive that has to wait: its receiver is queued, and then connected to the caller's
// cancellation slot and to its timeout (the call's, else the connection's receive_timeout).
template <class T, class Handler, class MakeReceiver>
void wait_async(const std::shared_ptr<websocket::state>& st, Handler h,
                const net::any_io_executor& hint, std::optional<std::chrono::milliseconds> timeout,
                MakeReceiver make_receiver) {
  if (!timeout) timeout = st->options.receive_timeout;
  auto slot = h.get_cancellation_slot();
  net::io_context* ctx = nullptr;
  std::function<void(std::exception_ptr, T)> cb =
      async_callback<T>(std::move(h), st->session->strand().get_inner_executor(), hint, &ctx);
  std::shared_ptr<receive_timer> timer;
  if (timeout) {
    timer = std::make_shared<receive_timer>(*st->session);
    cb = stopping<T>(timer, st->session->strand(), std::move(cb));
  }
  const std::uint64_t id =
      post_receiver(st, make_receiver(std::move(cb)), reading_context(ctx, *st));
  if (slot.is_connected() || timer) watch_receive(st, id, slot, timer, timeout);
}
}  // namespace

void websocket::do_async_receive(receive_handler h, net::any_io_executor hint,
                                 receive_timeout timeout) {
  wait_async<incoming>(state_, std::move(h), hint, timeout,
                       [](auto cb) { return frame_receiver(std::move(cb)); });
}

void websocket::do_async_receive_message(message_handler h, net::any_io_executor hint,
                                         receive_timeout timeout) {
  auto st = state_;
  if (auto m = take_buffered(*st)) {  // messages arriving faster than they are taken
    complete_now(std::move(h), st->session->strand().get_inner_executor(), hint, nullptr,
                 std::move(*m));
    return;
  }
  wait_async<message>(st, std::move(h), hint, timeout, [&](auto cb) {
    return message_receiver(std::move(cb), st->session->where());
  });
}

namespace {
// An async receive of one message type: its payload converted for the handler, or a
// decode_error for a message of the other type.
template <class Handler, class Convert>
void receive_typed(const std::shared_ptr<websocket::state>& st, Handler h,
                   const net::any_io_executor& hint,
                   std::optional<std::chrono::milliseconds> timeout, opcode want, Convert convert) {
  const auto io = st->session->strand().get_inner_executor();
  if (auto m = take_buffered(*st)) {
    complete_now(std::move(h), io, hint, m->type == want ? nullptr : wrong_type(want, m->type),
                 convert(std::move(m->data)));
    return;
  }
  using value = std::invoke_result_t<Convert, std::string&&>;
  wait_async<value>(
      st, std::move(h), hint, timeout, [&](std::function<void(std::exception_ptr, value)> cb) {
        return message_receiver(
            expect_type(want,
                        [cb = std::move(cb), convert](std::exception_ptr e, message m) {
                          cb(e, convert(std::move(m.data)));
                        }),
            st->session->where());
      });
}
}  // namespace

void websocket::do_async_receive_text(text_handler h, net::any_io_executor hint,
                                      receive_timeout timeout) {
  receive_typed(state_, std::move(h), hint, timeout, opcode::text,
                [](std::string&& s) { return std::move(s); });
}

void websocket::do_async_receive_binary(binary_handler h, net::any_io_executor hint,
                                        receive_timeout timeout) {
  receive_typed(state_, std::move(h), hint, timeout, opcode::binary,
                [](std::string&& s) { return to_bytes(s); });
}

void websocket::do_async_send(frame f, bool is_continuation, done_handler h,
                              net::any_io_executor hint) {
  auto st = state_;
  std::exception_ptr error;
  if (st->session->send_now(f, is_continuation, error)) {  // queued at once, the usual case
    complete_now(std::move(h), st->session->strand().get_inner_executor(), hint, error);
    return;
  }
  // It may wait for room: then a cancellation takes it back before it reaches the wire.
  auto slot = h.get_cancellation_slot();
  const std::uint64_t id = slot.is_connected() ? st->session->next_cancel_id() : 0;
  post_send(st, std::move(f), is_continuation,
            async_callback<>(std::move(h), st->session->strand().get_inner_executor(), hint), id);
  if (id != 0) slot.emplace<send_canceller>(send_canceller{st->session, id});
}

void websocket::do_async_close(std::uint16_t code, std::string reason, done_handler h,
                               net::any_io_executor hint) {
  auto s = state_->session;
  auto slot = h.get_cancellation_slot();
  auto done = async_callback<>(std::move(h), s->strand().get_inner_executor(), hint);
  if (!slot.is_connected()) {
    s->close(code, std::move(reason), done);
    return;
  }
  auto abandoned = std::make_shared<std::atomic<bool>>(false);
  slot.emplace<close_canceller>(close_canceller{s, abandoned});
  s->close(code, std::move(reason), [abandoned, done, where = s->where()](std::exception_ptr e) {
    if (abandoned->load()) {
      e = std::make_exception_ptr(
          operation_aborted("the close handshake with " + where +
                            " was cancelled before the peer answered; the connection was dropped"));
    }
    done(e);
  });
}

// --- what a coroutine's operations take at once (websocket::ready_or_wait) --------------------

std::optional<incoming> websocket::take_ready_frame() {
  auto& st = *state_;
  std::lock_guard lock(st.session->mutex());
  if (!st.receivers.empty() || st.buffer.empty()) return std::nullopt;
  auto* f = std::get_if<frame>(&st.buffer.front());
  if (!f || !st.may_resume_directly()) return std::nullopt;
  incoming in(std::move(*f));
  st.buffer.pop_front();
  st.pump();  // resumes reading if the buffer was full
  return in;
}

std::optional<message> websocket::take_ready_message() {
  auto& st = *state_;
  std::lock_guard lock(st.session->mutex());
  if (!st.receivers.empty() || st.buffer.empty() || !st.may_resume_directly()) return std::nullopt;
  return take_buffered_message(st);
}

std::optional<std::string> websocket::take_ready_text() {
  auto m = take_ready_message();
  if (!m) return std::nullopt;
  if (m->type != opcode::text) std::rethrow_exception(wrong_type(opcode::text, m->type));
  return std::move(m->data);
}

std::optional<std::vector<std::byte>> websocket::take_ready_binary() {
  auto m = take_ready_message();
  if (!m) return std::nullopt;
  if (m->type != opcode::binary) std::rethrow_exception(wrong_type(opcode::binary, m->type));
  return to_bytes(m->data);
}

bool websocket::send_ready(frame& f, bool is_continuation) {
  if (!state_->may_resume_directly()) return false;
  std::exception_ptr error;
  if (!state_->session->send_now(f, is_continuation, error)) return false;
  if (error) std::rethrow_exception(error);
  return true;
}

bool message_range::next() {
  try {
    current_ = ws_.receive_message();
    return true;
  } catch (const websocket_closed& e) {
    close_ = e.close();
    current_.reset();
    return false;
  }
}

// --- the low-level handler -------------------------------------------------------------------

void sender::send(frame f, bool is_continuation) {
  auto s = state_->session;
  net::dispatch(s->strand(), [s, f = std::move(f), is_continuation]() mutable {
    s->send(std::move(f), is_continuation, nullptr);
  });
}

void sender::close(std::uint16_t code, std::string_view reason) {
  auto s = state_->session;
  net::dispatch(s->strand(), [s, code, r = std::string(reason)]() mutable {
    s->close(code, std::move(r), nullptr);
  });
}

bool sender::is_open() const noexcept {
  return state_ && state_->session->is_open();
}

}  // namespace courier::ws

namespace courier::asio_detail {

template <class F>
void listener_sink::guarded(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    // A throwing callback cannot be allowed to unwind into the I/O loop: fail the connection.
    auto s = sender_.shared_state()->session;
    s->fail(ws::close_code::internal_error, "listener failed",
            std::make_exception_ptr(
                courier::error(make_error_code(errc::protocol_error),
                               std::string("a listener callback threw: ") + e.what())));
  }
}

void listener_sink::on_event(proto::ws::event&& e) {
  guarded([&] {
    if (auto* d = std::get_if<proto::ws::data_event>(&e)) {
      ws::frame f{d->is_continuation ? ws::opcode::continuation : d->message_type,
                  d->fin,
                  d->rsv1,
                  d->rsv2,
                  d->rsv3,
                  std::move(d->payload)};
      listener_->on_frame(f);
    } else if (auto* p = std::get_if<proto::ws::ping_event>(&e)) {
      listener_->on_ping(p->payload);
    } else if (auto* p = std::get_if<proto::ws::pong_event>(&e)) {
      listener_->on_pong(p->payload);
    }
  });
}

void listener_sink::on_failure(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const courier::error& e) {
    listener_->on_error(e.code(), e.what());
  } catch (const std::exception& e) {
    listener_->on_error(make_error_code(errc::protocol_error), e.what());
  }
}

void listener_sink::on_closed(const ws::close_event& close) {
  listener_->on_close(close);
}

}  // namespace courier::asio_detail
