#include "asio/http2/h2_connection.hpp"

#include <courier/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <condition_variable>
#include <utility>

namespace courier::asio_detail {

namespace {
// Each read's events go to their exchanges in one hand-over: 256 KiB reads took a quarter of
// the CPU time off a 32 MiB h2c download against 64 KiB ones.
constexpr std::size_t read_chunk = 256 * 1024;
// Records taken after a read before its events are handled: a bound on the time one pass
// takes, not on memory (the buffer bounds that).
constexpr int max_buffered_reads = 256;

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;  // clang 14 does not deduce aggregates
}  // namespace

h2_connection::h2_connection(std::unique_ptr<transport> t, net::any_io_executor strand,
                             std::string where, http2::connection_options options)
    : core_(options),
      transport_(std::move(t)),
      strand_(std::move(strand)),
      where_(std::move(where)),
      write_signal_(strand_),
      deadline_timer_(strand_) {}

h2_connection::~h2_connection() = default;

h2_connection::pending_wakes& h2_connection::wake_batch(const net::any_io_executor& ex) const {
  for (auto& batch : to_wake_) {
    if (batch.ex == ex) return batch;
  }
  // Tracked work while the batch is pending: the executor's context cannot run out of work
  // (and its run() return) between the unlock below and the post, even if the exchange's
  // timer expires meanwhile and it ends.
  return to_wake_.emplace_back(
      pending_wakes{ex, net::prefer(ex, net::execution::outstanding_work.tracked), {}, {}});
}

h2_connection::locked::~locked() {
  if (c_.to_wake_.empty() && c_.to_notify_.empty()) return;
  auto to_wake = std::move(c_.to_wake_);
  auto woken = std::move(c_.to_notify_);
  c_.to_wake_.clear();
  c_.to_notify_.clear();
  lock_.unlock();
  for (auto& batch : to_wake) {
    net::post(batch.tracked, [timers = std::move(batch.timers), calls = std::move(batch.calls)] {
      for (const auto& weak : timers) {
        if (auto t = weak.lock()) t->cancel();
      }
      for (const auto& w : calls)
        w->wake(w);
    });
  }
  for (auto& w : woken)
    w->cv.notify_one();
}

void h2_connection::start() {
  auto self = shared_from_this();
  net::co_spawn(
      strand_, [self]() { return self->read_loop(); }, net::detached);
  net::co_spawn(
      strand_, [self]() { return self->write_loop(); }, net::detached);
}

bool h2_connection::accepts_streams(std::chrono::milliseconds idle_limit) {
  locked lock(*this);
  if (failure_ || !core_.can_submit()) return false;
  // The clock first: counting the open streams walks them all.
  if (coarse_clock::now() - last_used_ <= idle_limit || core_.open_streams() != 0) return true;
  core_.shutdown();
  kick_writer();
  return false;
}

std::shared_ptr<h2_stream> h2_connection::submit(const http2::request_head& head, bool with_body) {
  locked lock(*this);
  if (failure_ || !core_.can_submit()) return nullptr;
  last_used_ = coarse_clock::now();
  auto s = std::make_shared<h2_stream>();
  s->id = core_.submit_request(
      head, with_body ? http2::request_body::supplied : http2::request_body::none);
  s->sending_body = with_body;
  streams_.emplace(s->id, s);
  kick_writer();
  return s;
}

void h2_connection::supply_body(h2_stream& s, std::string piece, bool end) {
  locked lock(*this);
  if (end) s.sending_body = false;
  if (failure_ || s.over) return;
  core_.supply_body(s.id, std::move(piece), end);
  kick_writer();
}

std::size_t h2_connection::body_buffered(const h2_stream& s) const {
  locked lock(*this);
  return s.over || failure_ ? 0 : core_.body_buffered(s.id);
}

void h2_connection::consumed(const h2_stream& s, std::size_t n) {
  locked lock(*this);
  if (failure_) return;
  core_.consumed(s.id, n);
  kick_writer();
}

void h2_connection::cancel(h2_stream& s) {
  locked lock(*this);
  s.waiter = {};
  if (failure_) return;
  if (!s.over) {
    s.over = true;
    streams_.erase(s.id);
  }
  // Reset unless over. An answer that is over may have left body bytes untaken (a redirect's
  // body, not read): the core credits them to the connection's window, and forgets the stream.
  core_.cancel(s.id);
  kick_writer();
}

void h2_connection::wake(h2_stream& s) {
  h2_waiter w = std::exchange(s.waiter, {});
  switch (w.waiting) {
    case h2_waiter::kind::none:
      return;
    case h2_waiter::kind::timer:
      wake_batch(w.ex).timers.push_back(std::move(w.timer));
      return;
    case h2_waiter::kind::callback:
      wake_batch(w.ex).calls.push_back(std::move(w.callback));
      return;
    case h2_waiter::kind::blocked:
      // The thread is notified once mutex_ is released (see `locked`).
      {
        std::lock_guard g(w.blocked->m);
        w.blocked->woken = true;
      }
      to_notify_.push_back(std::move(w.blocked));
      return;
  }
}

bool h2_connection::expect_wake(h2_stream& s, const net::any_io_executor& ex,
                                std::weak_ptr<net::steady_timer> timer) {
  locked lock(*this);
  if (!s.events.empty() || s.over || s.failure) return false;
  // The timer is cancelled from the exchange's own executor (see `locked`), once the exchange
  // is suspended in its wait, never before.
  s.waiter.waiting = h2_waiter::kind::timer;
  s.waiter.ex = ex;
  s.waiter.timer = std::move(timer);
  return true;
}

bool h2_connection::expect_call(h2_stream& s, const net::any_io_executor& ex,
                                std::shared_ptr<h2_wakeable> w, clock::time_point deadline) {
  locked lock(*this);
  if (!s.events.empty() || s.over || s.failure) return false;
  s.waiter.waiting = h2_waiter::kind::callback;
  s.waiter.ex = ex;
  s.waiter.callback = std::move(w);
  s.waiter.deadline = deadline;
  // Waits of one read_timeout end in the order they began: the timer is re-armed only when
  // it is idle, or for a shorter timeout.
  if (deadline < deadline_armed_ && !closed_) {
    deadline_armed_ = deadline;
    net::post(strand_, [self = shared_from_this()] { self->arm_deadline(); });
  }
  return true;
}

std::shared_ptr<h2_wakeable> h2_connection::forget_call(h2_stream& s) {
  locked lock(*this);
  if (s.waiter.waiting != h2_waiter::kind::callback) return nullptr;
  auto w = std::move(s.waiter.callback);
  s.waiter = {};
  return w;
}

void h2_connection::arm_deadline() {
  locked lock(*this);
  if (closed_ || deadline_armed_ == clock::time_point::max()) return;
  wait_for_deadline();
}

void h2_connection::wait_for_deadline() {
  deadline_timer_.expires_at(deadline_armed_);  // replaces a later wait, which ends aborted
  deadline_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->on_deadline();
  });
}

void h2_connection::on_deadline() {
  locked lock(*this);
  if (closed_) return;
  const auto now = clock::now();
  auto next = clock::time_point::max();
  for (auto& [id, s] : streams_) {
    if (s->waiter.waiting != h2_waiter::kind::callback) continue;
    if (s->waiter.deadline <= now) {
      wake(*s);
    } else {
      next = std::min(next, s->waiter.deadline);
    }
  }
  deadline_armed_ = next;
  if (next != clock::time_point::max()) wait_for_deadline();
}

bool h2_connection::took_wake(h2_stream& s) {
  locked lock(*this);
  const bool woken = s.waiter.waiting == h2_waiter::kind::none;
  s.waiter = {};
  return woken;
}

// Not a coroutine: the wait is one timer operation, whose handler resumes the exchange. A
// frame of its own would be held by every stream waiting for its answer.
net::awaitable<bool> h2_connection::wait(const std::shared_ptr<h2_stream>& s,
                                         clock::time_point until) {
  return net::async_initiate<const net::use_awaitable_t<>&, void(std::exception_ptr, bool)>(
      [](auto resume, std::shared_ptr<h2_connection> self, std::shared_ptr<h2_stream> s,
         clock::time_point until) {
        const auto ex = net::get_associated_executor(resume);  // the exchange's, serialized
        auto timer = std::make_shared<net::steady_timer>(ex);
        if (!self->expect_wake(*s, ex, timer)) {
          net::post(ex,
                    [resume = std::move(resume)]() mutable { std::move(resume)(nullptr, true); });
          return;
        }
        timer->expires_at(until);
        // The exchange's cancellation reaches the timer; a wake-up cancels it too, and takes
        // the waiter (which tells the two apart).
        const auto slot = net::get_associated_cancellation_slot(resume);
        timer->async_wait(net::bind_cancellation_slot(
            slot, [self = std::move(self), s = std::move(s), timer, until,
                   resume = std::move(resume)](boost::system::error_code ec) mutable {
              const bool woken = self->took_wake(*s);
              std::exception_ptr cancelled;
              if (ec == net::error::operation_aborted && !woken) {
                cancelled = std::make_exception_ptr(
                    operation_aborted("the request to " + self->where_ + " was cancelled"));
              }
              std::move(resume)(cancelled, woken || clock::now() < until);
            }));
      },
      net::use_awaitable, shared_from_this(), s, until);
}

bool h2_connection::wait_here(const std::shared_ptr<h2_stream>& s, clock::time_point until) {
  auto w = std::make_shared<h2_blocked_caller>();
  {
    locked lock(*this);
    if (!s->events.empty() || s->over || s->failure) return true;
    s->waiter.waiting = h2_waiter::kind::blocked;
    s->waiter.blocked = w;
  }
  std::unique_lock g(w->m);
  if (w->cv.wait_until(g, until, [&] { return w->woken; })) return true;
  g.unlock();
  locked lock(*this);
  if (s->waiter.waiting == h2_waiter::kind::none) return true;  // woken meanwhile
  s->waiter = {};
  return clock::now() < until;
}

bool h2_connection::take_events(h2_stream& s, std::vector<http2::event>& out, std::size_t most) {
  locked lock(*this);
  if (s.events.empty()) {
    if (s.failure) std::rethrow_exception(s.failure);
    return s.over;
  }
  for (std::size_t i = 0; i < most && !s.events.empty(); ++i)
    out.push_back(s.events.take_front());
  return s.over && s.events.empty();
}

std::optional<http2::event> h2_connection::take_event(h2_stream& s) {
  locked lock(*this);
  if (!s.events.empty()) return s.events.take_front();
  if (s.failure) std::rethrow_exception(s.failure);
  return std::nullopt;
}

bool h2_connection::drained(const h2_stream& s) const {
  locked lock(*this);
  if (!s.events.empty()) return false;
  if (s.failure) std::rethrow_exception(s.failure);
  return s.over;
}

bool h2_connection::ended(const h2_stream& s) const {
  locked lock(*this);
  return s.over || s.failure;
}

void h2_connection::kick_writer() {
  if (!writer_waiting_ || !core_.wants_write()) return;
  writer_waiting_ = false;
  net::post(strand_, [self = shared_from_this()] { self->write_signal_.cancel(); });
}

net::awaitable<void> h2_connection::write_loop() {
  auto self = shared_from_this();  // lives while the loop does
  for (;;) {
    std::string batch;
    {
      locked lock(*this);
      if (closed_) co_return;
      batch = core_.take_output();
      if (batch.empty()) {
        if (core_.done()) {
          fail_locked(std::make_exception_ptr(
                          read_error("the HTTP/2 connection to " + where_ + " was shut down")),
                      true);
          co_return;
        }
        writer_waiting_ = true;
      }
    }
    if (batch.empty()) {
      write_signal_.expires_at(clock::time_point::max());
      boost::system::error_code ignored;
      co_await write_signal_.async_wait(net::redirect_error(net::use_awaitable, ignored));
      continue;
    }
    boost::system::error_code ec;
    const std::vector<net::const_buffer> buffers{net::buffer(batch)};
    co_await transport_->write(buffers, ec);
    locked lock(*this);
    if (ec) {
      fail_locked(std::make_exception_ptr(
                      write_error("sending to " + where_ + " over HTTP/2 failed: " + ec.message())),
                  true);
      co_return;
    }
    // Streams uploading a body may supply more now (only they: a stream waiting for its
    // answer would wake for nothing).
    for (auto& [id, s] : streams_) {
      if (s->sending_body) wake(*s);
    }
  }
}

net::awaitable<void> h2_connection::read_loop() {
  auto self = shared_from_this();
  std::vector<char> buffer(read_chunk);
  auto forgiven_at = coarse_clock::now();
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = co_await transport_->read_some(net::buffer(buffer), ec);
    // The records that came with it, taken now: their streams are then woken together, and
    // answer together in one write.
    for (int more = 0; !ec && more < max_buffered_reads && n < buffer.size(); ++more) {
      const std::size_t got = transport_->read_buffered(net::buffer(buffer) + n);
      if (got == 0) break;
      n += got;
    }
    locked lock(*this);
    if (closed_) co_return;
    if (n > 0) {
      // Frames without progress count as a flood only when they come close together.
      const auto now = coarse_clock::now();
      if (now - forgiven_at >= std::chrono::seconds(1)) {
        core_.forgive_idle_frames();
        forgiven_at = now;
      }
      core_.receive(std::string_view(buffer.data(), n));
    }
    if (ec) core_.receive_eof();
    route_events();
    if (ec || core_.done()) {
      fail_locked(std::make_exception_ptr(read_error(
                      "the HTTP/2 connection to " + where_ + " closed" +
                      (ec && ec != net::error::eof ? ": " + ec.message() : std::string()))),
                  true);
      co_return;
    }
    kick_writer();
  }
}

void h2_connection::route_events() {
  while (auto e = core_.next_event()) {
    std::visit(overloaded{
                   [&](http2::goaway_event&) {},  // unprocessed streams get their own resets
                   [&](http2::connection_error_event& c) {
                     const std::string message =
                         "the HTTP/2 connection to " + where_ + " failed: " + c.message;
                     std::exception_ptr f = c.protocol_violation
                                                ? std::make_exception_ptr(protocol_error(message))
                                                : std::make_exception_ptr(read_error(message));
                     fail_locked(f, false);
                   },
                   [&](auto& stream_event) {
                     auto it = streams_.find(stream_event.stream);
                     if (it == streams_.end()) return;  // cancelled
                     h2_stream& s = *it->second;
                     using E = std::decay_t<decltype(stream_event)>;
                     const bool last = std::is_same_v<E, http2::end_of_stream_event> ||
                                       std::is_same_v<E, http2::stream_reset_event>;
                     s.events.push_back(std::move(*e));
                     if (last) {
                       s.over = true;
                       streams_.erase(it);  // `s` lives on in its exchange
                     }
                     wake(s);
                   },
               },
               *e);
  }
}

void h2_connection::fail_locked(std::exception_ptr failure, bool close_now,
                                std::vector<std::weak_ptr<h2_stream>>* woken) {
  if (!failure_) failure_ = failure;
  for (auto& [id, s] : streams_) {
    if (!s->failure) s->failure = failure_;
    s->over = true;
    if (woken && s->waiter.waiting != h2_waiter::kind::none) woken->push_back(s);
    wake(*s);
  }
  streams_.clear();
  if (close_now && !closed_) {
    closed_ = true;
    net::post(strand_, [self = shared_from_this()] {
      self->transport_->close();
      self->write_signal_.cancel();
      self->deadline_timer_.cancel();
    });
  }
}

std::vector<std::weak_ptr<h2_stream>> h2_connection::fail(std::exception_ptr failure) {
  std::vector<std::weak_ptr<h2_stream>> woken;
  locked lock(*this);
  fail_locked(std::move(failure), true, &woken);
  return woken;
}

// --- the pool ------------------------------------------------------------------------------

std::shared_ptr<h2_connection> h2_pool::usable(per_key& k) {
  std::erase_if(k.live, [](const auto& w) { return w.expired(); });
  for (auto& w : k.live) {
    if (auto c = w.lock(); c && c->accepts_streams(idle_timeout_)) return c;
  }
  return nullptr;
}

std::shared_ptr<h2_connection> h2_pool::find(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (closed_) throw operation_aborted("the asio_backend was destroyed");
  auto it = keys_.find(key);
  return it == keys_.end() ? nullptr : usable(it->second);
}

net::awaitable<std::shared_ptr<h2_connection>> h2_pool::get(const std::string& key,
                                                            clock::time_point until,
                                                            const connector& connect) {
  const auto ex = co_await net::this_coro::executor;
  // Takes this request's entry out of the queue however its wait ends: woken, timed out, or
  // its coroutine destroyed with its io_context.
  struct registration {
    h2_pool& pool;
    const std::string& key;
    std::uint64_t id = 0;
    ~registration() {
      if (id != 0) pool.forget_waiter(key, id);
    }
  };
  for (;;) {
    std::shared_ptr<net::steady_timer> timer;  // made only when this request has to wait
    registration registered{*this, key};
    {
      std::lock_guard lock(mutex_);
      if (closed_) throw operation_aborted("the asio_backend was destroyed");
      per_key& k = keys_[key];
      if (auto c = usable(k)) co_return c;
      if (!k.connecting) {
        k.connecting = true;
        break;
      }
      timer = std::make_shared<net::steady_timer>(ex);
      registered.id = ++next_waiter_;
      // The wake-up runs on the request's own executor, and finds the timer only while the
      // request still waits on it.
      std::weak_ptr<net::steady_timer> weak = timer;
      k.waiting.push_back({registered.id,
                           [ex, weak] {
                             net::post(ex, [weak] {
                               if (auto t = weak.lock()) t->cancel();
                             });
                           },
                           timer});
    }
    timer->expires_at(until);
    boost::system::error_code ec;
    co_await timer->async_wait(net::redirect_error(net::use_awaitable, ec));
    if (!ec) {
      throw timeout_error("connect timeout: the HTTP/2 connection to " + key +
                          " being opened for other requests did not come up in time");
    }
  }
  // This request opens the key's connection; the others wait for it.
  std::shared_ptr<h2_connection> made;
  std::exception_ptr failed;
  try {
    made = co_await connect();
  } catch (...) {
    failed = std::current_exception();
  }
  std::vector<waiter> waiting;
  {
    std::lock_guard lock(mutex_);
    per_key& k = keys_[key];
    k.connecting = false;
    if (made) {
      if (closed_) {
        made->fail(std::make_exception_ptr(operation_aborted("the asio_backend was destroyed")));
      } else {
        k.live.push_back(made);
      }
    }
    waiting.swap(k.waiting);
    for (auto& w : waiting)
      w.wake();  // under the lock: a waiter leaves only through forget_waiter
  }
  if (failed) std::rethrow_exception(failed);
  co_return made;
}

void h2_pool::forget_waiter(const std::string& key, std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  std::erase_if(it->second.waiting, [id](const waiter& w) { return w.id == id; });
}

std::vector<std::weak_ptr<const void>> h2_pool::fail_all(const std::string& why) {
  std::vector<std::shared_ptr<h2_connection>> all;
  std::vector<waiter> waiting;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [key, k] : keys_) {
      for (auto& w : k.live) {
        if (auto c = w.lock()) all.push_back(std::move(c));
      }
      for (auto& w : k.waiting) {
        w.wake();  // under the lock, as in get()
        waiting.push_back(std::move(w));
      }
      k.waiting.clear();
    }
  }
  std::vector<std::weak_ptr<const void>> woken;
  for (auto& c : all) {
    for (auto& s : c->fail(std::make_exception_ptr(operation_aborted(why))))
      woken.push_back(std::move(s));
  }
  for (auto& w : waiting)
    woken.push_back(w.alive);
  return woken;
}

}  // namespace courier::asio_detail
