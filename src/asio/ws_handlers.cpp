#include "asio/ws_handlers.hpp"

#include "asio/backend_impl.hpp"

#include <courier/error.hpp>
#include <courier/ws/stream.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

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

void websocket::state::add_receiver(receiver r) {
  std::lock_guard lock(session->mutex());
  receivers.push_back(std::move(r));
  pump();
}

void websocket::state::pump() {
  while (!receivers.empty()) {
    if (buffer.empty()) {
      if (!terminal) break;
      item closed = std::make_exception_ptr(
          websocket_closed("the WebSocket to " + session->where() + " is closed", final_close));
      if (receivers.front()(closed)) receivers.pop_front();
      continue;
    }
    item it = std::move(buffer.front());
    buffer.pop_front();
    if (std::holds_alternative<close_event>(it)) terminal = true;
    if (receivers.front()(it)) receivers.pop_front();
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
      auto ec = e ? asio_detail::code_of(e) : boost::system::error_code{};
      // Released when this returns, after post() has: see below.
      const tracked work = std::move(o->work);
      net::post(work, [o, ec, ... value = std::move(value)]() mutable {
        std::move(o->handler)(ec, std::move(value)...);
      });
    };
  }
  if (caller) *caller = nullptr;
  auto ex = net::get_associated_executor(h, io);
  auto work = std::make_shared<net::executor_work_guard<decltype(ex)>>(ex);
  auto shared = std::make_shared<Handler>(std::move(h));
  return [shared, work, io](std::exception_ptr e, T... value) {
    auto ec = e ? asio_detail::code_of(e) : boost::system::error_code{};
    post_completion(work->get_executor(), io, [shared, ec, ... value = std::move(value)]() mutable {
      std::move (*shared)(ec, std::move(value)...);
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
    const auto ec = e ? asio_detail::code_of(e) : boost::system::error_code{};
    net::post(*ioc, [h = std::move(h), ec, ... v = std::move(values)]() mutable {
      std::move(h)(ec, std::move(v)...);
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

// The same for a receive: while it waits, the calling thread reads the socket itself when the
// session allows it (ws_session::read_here_until), so a round trip stays on this thread.
template <class T>
T wait_for_input(websocket::state& st,
                 const std::function<void(std::function<void(std::exception_ptr, T)>)>& start) {
  st.backend->check_blocking_allowed("a blocking websocket call");
  sync_result<T> result;
  start(result.callback());
  if (!result.ready()) st.session->read_here_until([&] { return result.ready(); });
  return result.get();
}

using item = websocket::state::item;

websocket::state::receiver frame_receiver(std::function<void(std::exception_ptr, incoming)> cb) {
  return [cb = std::move(cb)](item& it) {
    if (auto* f = std::get_if<frame>(&it)) {
      cb(nullptr, incoming(std::move(*f)));
    } else if (auto* c = std::get_if<close_event>(&it)) {
      cb(nullptr, incoming(std::move(*c)));
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
void post_receiver(const std::shared_ptr<websocket::state>& st, websocket::state::receiver r,
                   net::io_context* ctx = nullptr) {
  st->add_receiver(std::move(r));
  if (ctx) {
    st->session->want_reading_on(*ctx);
  } else {
    st->session->want_background_reading();
  }
}

void post_send(const std::shared_ptr<websocket::state>& st, frame f, bool cont,
               std::function<void(std::exception_ptr)> done) {
  st->session->send(std::move(f), cont, std::move(done));
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
                                 std::optional<opcode> want) {
  st->backend->check_blocking_allowed("a blocking websocket call");
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
          lock, [&] { return !st->buffer.empty() || !st->receivers.empty(); });
      if (!read) break;  // the I/O thread reads: wait for it below
      // Each turn buffers something new or ends here (a finished session with nothing
      // buffered, or another receiver that came meanwhile): never a spin.
      if (st->buffer.empty()) break;
    }
  }
  return wait_for_input<message>(*st, [&](std::function<void(std::exception_ptr, message)> cb) {
    if (want) cb = expect_type(*want, std::move(cb));
    st->add_receiver(message_receiver(std::move(cb), st->session->where()));
  });
}

}  // namespace

incoming websocket::receive() {
  auto st = state_;
  return wait_for_input<incoming>(
      *st, [st](auto cb) { st->add_receiver(frame_receiver(std::move(cb))); });
}

message websocket::receive_message() {
  return blocking_receive_message(state_, std::nullopt);
}

std::string websocket::receive_text() {
  return blocking_receive_message(state_, opcode::text).data;
}

std::vector<std::byte> websocket::receive_binary() {
  return to_bytes(blocking_receive_message(state_, opcode::binary).data);
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

void websocket::do_async_receive(receive_handler h, net::any_io_executor hint) {
  auto st = state_;
  net::io_context* ctx = nullptr;
  auto cb = async_callback<incoming>(std::move(h), st->session->strand().get_inner_executor(), hint,
                                     &ctx);
  post_receiver(st, frame_receiver(std::move(cb)), reading_context(ctx, *st));
}

void websocket::do_async_receive_message(message_handler h, net::any_io_executor hint) {
  auto st = state_;
  if (auto m = take_buffered(*st)) {  // messages arriving faster than they are taken
    complete_now(std::move(h), st->session->strand().get_inner_executor(), hint, nullptr,
                 std::move(*m));
    return;
  }
  net::io_context* ctx = nullptr;
  auto cb =
      async_callback<message>(std::move(h), st->session->strand().get_inner_executor(), hint, &ctx);
  post_receiver(st, message_receiver(std::move(cb), st->session->where()),
                reading_context(ctx, *st));
}

namespace {
// An async receive of one message type: its payload converted for the handler, or a
// decode_error for a message of the other type.
template <class Handler, class Convert>
void receive_typed(const std::shared_ptr<websocket::state>& st, Handler h,
                   const net::any_io_executor& hint, opcode want, Convert convert) {
  const auto io = st->session->strand().get_inner_executor();
  if (auto m = take_buffered(*st)) {
    complete_now(std::move(h), io, hint, m->type == want ? nullptr : wrong_type(want, m->type),
                 convert(std::move(m->data)));
    return;
  }
  net::io_context* ctx = nullptr;
  auto cb =
      async_callback<std::invoke_result_t<Convert, std::string&&>>(std::move(h), io, hint, &ctx);
  post_receiver(st,
                message_receiver(expect_type(want,
                                             [cb, convert](std::exception_ptr e, message m) {
                                               cb(e, convert(std::move(m.data)));
                                             }),
                                 st->session->where()),
                reading_context(ctx, *st));
}
}  // namespace

void websocket::do_async_receive_text(text_handler h, net::any_io_executor hint) {
  receive_typed(state_, std::move(h), hint, opcode::text,
                [](std::string&& s) { return std::move(s); });
}

void websocket::do_async_receive_binary(binary_handler h, net::any_io_executor hint) {
  receive_typed(state_, std::move(h), hint, opcode::binary,
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
  post_send(st, std::move(f), is_continuation,
            async_callback<>(std::move(h), st->session->strand().get_inner_executor(), hint));
}

void websocket::do_async_close(std::uint16_t code, std::string reason, done_handler h,
                               net::any_io_executor hint) {
  auto s = state_->session;
  auto done = async_callback<>(std::move(h), s->strand().get_inner_executor(), hint);
  s->close(code, std::move(reason), done);
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
