#include "asio/ws/ws_session.hpp"

#include <courier/error.hpp>
#include <courier/ws/errors.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <limits>

namespace courier::asio_detail {

namespace {
// The read buffer starts small, so that an idle connection costs little, and doubles while
// reads fill it (a busy or large-message connection reads up to the maximum per syscall).
constexpr std::size_t ws_read_buffer_initial = 2 * 1024;
constexpr std::size_t ws_read_buffer_max = 256 * 1024;
// With blocking receives reading on their callers' threads, background reading resumes after
// this long without one (so that pings are answered and closes seen).
constexpr std::chrono::milliseconds parked_reader_check{50};
// Reads this large mean bulk transfer, where one thread writing while another reads moves
// more than one thread doing both: blocking receives then leave the reading to the loop. And
// output this large leaves from a caller's thread even when it is not the first send after
// input (there is nothing to batch it with).
constexpr std::size_t bulk_bytes = 16 * 1024;
// A caller's thread sends a large message in two steps: this much first, then the rest.
constexpr std::size_t first_write_slice = 64 * 1024;
// A payload with this much still to come is read into its message's string, not copied there
// from the read buffer.
constexpr std::size_t direct_read_min = 64 * 1024;
std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}
}  // namespace

// Kept by every io_context that async receives read on: when the context is destroyed, the
// sessions reading on it take their sockets back before its reactor goes (it is made after the
// descriptor service, so it shuts down before it).
class guest_registry final : public net::execution_context::service {
 public:
  using key_type = guest_registry;
  static inline net::execution_context::id id;
  explicit guest_registry(net::execution_context& ctx) : service(ctx) {}

  void add(const std::shared_ptr<ws_session>& s) {
    std::lock_guard lock(mutex_);
    std::erase_if(sessions_, [](const std::weak_ptr<ws_session>& w) { return w.expired(); });
    const bool known =
        std::any_of(sessions_.begin(), sessions_.end(),
                    [&](const std::weak_ptr<ws_session>& w) { return w.lock() == s; });
    if (!known) sessions_.push_back(s);
  }

 private:
  void shutdown() override {
    std::vector<std::weak_ptr<ws_session>> all;
    {
      std::lock_guard lock(mutex_);
      all.swap(sessions_);
    }
    for (auto& w : all) {
      if (auto s = w.lock()) s->leave_context(context());
    }
  }

  std::mutex mutex_;
  std::vector<std::weak_ptr<ws_session>> sessions_;
};

struct ws_session::guest {
  guest(net::io_context& c, std::uint64_t g) : ctx(c), descriptor(c), generation(g) {}
  net::io_context& ctx;
  net::posix::stream_descriptor descriptor;  // a dup() of the socket's, once adopted
  std::uint64_t generation;
};

ws_session::ws_session(ws_strand strand, std::unique_ptr<byte_stream> t,
                       proto::ws::connection_options core, ws::connection_options options,
                       std::string where, std::shared_ptr<time_source> time)
    : time_(std::move(time)),
      strand_(std::move(strand)),
      transport_(std::move(t)),
      core_(std::move(core)),
      options_(std::move(options)),
      where_(std::move(where)) {}

ws_session::~ws_session() = default;

template <class F>
void ws_session::on_strand(F f) {
  if (strand_.running_in_this_thread()) {
    f();
    return;
  }
  net::post(strand_, [self = shared_from_this(), f = std::move(f)]() mutable {
    std::lock_guard lock(self->mutex_);
    f();
  });
}

void ws_session::start(std::weak_ptr<ws_event_sink> sink, bool own_sink, std::string initial) {
  std::lock_guard lock(mutex_);
  sink_ = sink;
  if (own_sink) owned_sink_ = sink.lock();
  auto self = shared_from_this();
  net::co_spawn(strand_, read_loop(std::move(initial)), [self](std::exception_ptr) {});
  if (options_.ping_interval) {
    net::co_spawn(strand_, keepalive_loop(), [self](std::exception_ptr) {});
  }
}

std::uint64_t ws_session::queued_bytes() const noexcept {
  return moved_ + core_.pending_output_size() - written_;
}

net::awaitable<void> ws_session::read_loop(std::string initial) {
  std::unique_lock lock(mutex_);
  if (!initial.empty()) {
    core_.receive_data(initial);
    drain_events();
    flush();
  }
  // Not zero-filled: only what a read returns is looked at.
  std::size_t buffer_size = ws_read_buffer_initial;
  auto buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
  while (!finished_) {
    if (park_wanted_ && !paused_) {
      // Blocking receives read from here on, on their own threads.
      park_wanted_ = false;
      reader_ = reader::parked;
      last_caller_read_ = coarse_clock::now();
      watch_parked_reader();
      notify_input();
      // An async receive on a caller's io_context that still waits reads there from now on.
      if (guest_ && !writing_) {
        auto sink = sink_.lock();
        if (sink && sink->wants_input() && adopt_guest()) guest_read();
      }
      co_return;
    }
    if (paused_) {
      resume_timer_ = std::make_unique<net::steady_timer>(strand_, clock::time_point::max());
      boost::system::error_code ignored;
      lock.unlock();
      co_await resume_timer_->async_wait(net::redirect_error(net::use_awaitable, ignored));
      lock.lock();
      resume_timer_.reset();
      continue;
    }
    boost::system::error_code ec;
    try {
      transport_->attach_for_async();  // after blocking receives read on their threads
    } catch (const courier::error&) {
      ec = net::error::bad_descriptor;
    }
    std::size_t n = 0;
    // The rest of a long payload is read straight into the string its message will be.
    const std::span<char> direct = core_.payload_space(direct_read_min);
    const std::size_t want = read_size(buffer_size, direct);
    if (!ec) {
      lock.unlock();
      n = co_await transport_->read_some(direct.empty() ? net::buffer(buffer.get(), want)
                                                        : net::buffer(direct.data(), direct.size()),
                                         ec);
      lock.lock();
    }
    if (finished_) break;
    if (want == buffer_size || !direct.empty()) bulk_input_ = n >= bulk_bytes;  // not a header
    if (direct.empty()) {
      handle_input(std::string_view(buffer.get(), n), ec);
    } else {
      if (n > 0) {
        core_.payload_written(n);
        send_now_ = true;
      }
      handle_input({}, ec);
    }
    if (park_wanted_) notify_input();  // a blocking receive may have been served
    if (direct.empty() && n == buffer_size && buffer_size < ws_read_buffer_max) {
      buffer_size *= 2;
      buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
    }
    if (ec) break;
  }
}

void ws_session::handle_input(std::string_view data, const boost::system::error_code& ec) {
  if (!data.empty()) {
    core_.receive_data(data);
    send_now_ = true;  // an answer to what just arrived goes out from the caller at once
  }
  if (ec) {
    // A violation held back stays the failure the application sees.
    if (ec != net::error::eof && ec != net::ssl::error::stream_truncated && !failure_ &&
        !failure_held_) {
      failure_ = std::make_exception_ptr(
          read_error("the WebSocket connection to " + where_ + " was lost: " + ec.message()));
    }
    core_.receive_eof();
  }
  drain_events();
  flush();
}

bool ws_session::read_here_until(const std::function<bool()>& served,
                                 std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock lock(mutex_);
  return read_here_until(lock, served, deadline);
}

void ws_session::wait_until(std::unique_lock<std::recursive_mutex>& lock,
                            const std::function<bool()>& done) {
  while (!done())
    wait_input(lock);
}

bool ws_session::read_here_until(std::unique_lock<std::recursive_mutex>& lock,
                                 const std::function<bool()>& served) {
  return read_here_until(lock, served, std::nullopt);
}

bool ws_session::read_here_until(std::unique_lock<std::recursive_mutex>& lock,
                                 const std::function<bool()>& served,
                                 std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (!transport_->supports_caller_reads()) return false;
  for (;;) {
    if (served() || finished_) return true;
    if (failure_held_) {
      // The receive asks for what comes after everything delivered: a violation held back
      // (before this call, or by the read just made) is its answer, not more reading.
      deliver_held_failure();
      continue;
    }
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return true;
    if (writing_) {
      // Large or many frames are going out: the I/O thread, busy with them anyway, reads too
      // (one thread reading while another writes keeps both directions moving).
      park_wanted_ = false;
      if (reader_ == reader::parked) restart_read_loop();
      if (reader_ == reader::loop) return false;
    }
    if (reader_ == reader::loop && bulk_input_) return false;
    if (reader_ == reader::loop) {
      park_wanted_ = true;  // the loop stops after its next read, then this thread reads
      wait_input(lock, deadline);
      continue;
    }
    if (reader_ == reader::caller || (reader_ == reader::guest && guest_reading_)) {
      wait_input(lock, deadline);  // another thread reads for every receiver
      continue;
    }
    if (reader_ == reader::guest) drop_guest();  // this thread reads from here on
    if (paused_) {
      restart_read_loop();  // the loop resumes reading once the buffer drains
      continue;
    }
    // With a write in flight (started while this thread read) the socket stays with the
    // reactor: Asio owns it until the write ends.
    const int fd = transport_->fd_for_caller_reads(!writing_);
    if (fd < 0) return false;
    reader_ = reader::caller;
    boost::system::error_code ec;
    bool direct = false;
    const net::mutable_buffer buffer = caller_read_buffer(direct);
    lock.unlock();
    const std::size_t n = read_blocking(fd, buffer, ec, deadline);
    lock.lock();
    reader_ = reader::parked;
    last_caller_read_ = coarse_clock::now();
    if (std::exchange(close_after_read_, false)) transport_->close();
    take_caller_read(direct, n, ec);
    if (std::exchange(writer_to_spawn_, false)) {
      lock.unlock();
      spawn_writer();
      lock.lock();
    }
  }
}

// A read right after a payload was read straight into its string takes only the next frame's
// header: if that frame is large too, its payload then goes straight into its string as well,
// rather than its first part through the read buffer (up to the buffer's size, copied).
std::size_t ws_session::read_size(std::size_t buffer_size, std::span<char> direct) {
  const bool after_direct = std::exchange(after_direct_read_, !direct.empty());
  if (!direct.empty()) return direct.size();
  return after_direct ? std::min(buffer_size, proto::ws::max_frame_header_size) : buffer_size;
}

void ws_session::want_background_reading() {
  std::lock_guard lock(mutex_);
  park_wanted_ = false;
  if (reader_ == reader::guest) {
    if (guest_reading_) {
      loop_after_guest_ = true;  // its bytes are handled first, in order
      return;
    }
    drop_guest();
  }
  if (reader_ == reader::parked && !finished_) restart_read_loop();
}

void ws_session::want_reading_on(net::io_context& ctx) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  // Served from the buffer already: a read pending now would keep the caller's run() going.
  if (auto sink = sink_.lock(); !sink || !sink->wants_input()) return;
  if (!transport_->supports_caller_reads()) {
    want_background_reading();
    return;
  }
  if (guest_ && &guest_->ctx != &ctx) {
    if (guest_reading_) return;  // that context reads for every receiver meanwhile
    drop_guest();
  }
  if (!guest_) {
    guest_ = std::make_unique<guest>(ctx, ++guest_generation_);
    net::use_service<guest_registry>(ctx).add(shared_from_this());
  }
  switch (reader_) {
    case reader::guest:
      if (!guest_reading_) guest_read();
      return;
    case reader::caller:
      return;  // a blocking receive reads for every receiver
    case reader::loop:
      // The loop reads this once and then stops (unless bulk data flows): the next async
      // receive reads on its own context.
      if (!bulk_input_ && !writing_) park_wanted_ = true;
      return;
    case reader::parked:
      if (paused_ || writing_ || !adopt_guest()) {
        restart_read_loop();
        return;
      }
      guest_read();
      return;
  }
}

void ws_session::stop_reading_for_caller() {
  std::lock_guard lock(mutex_);
  if (finished_ || reader_ != reader::guest) return;
  if (auto sink = sink_.lock(); sink && sink->wants_input()) return;  // another receive waits
  if (guest_reading_) {
    // Cancelled while it waits, the read takes no byte; its completion (on the caller's
    // context) hands reading back to the I/O thread.
    loop_after_guest_ = true;
    boost::system::error_code ignored;
    guest_->descriptor.cancel(ignored);
    return;
  }
  drop_guest();
  restart_read_loop();
}

void ws_session::leave_context(net::execution_context& ctx) {
  std::lock_guard lock(mutex_);
  if (!guest_ || &static_cast<net::execution_context&>(guest_->ctx) != &ctx) return;
  // A receive waiting on this context fails the connection even while the I/O thread reads
  // (the parked-reader check may have taken reading back): its handler goes with the context.
  auto sink = sink_.lock();
  const bool receive_waits = guest_reading_ || (sink && sink->wants_input());
  drop_guest();
  if (finished_) return;
  if (receive_waits) {
    fail(ws::close_code::internal_error, "receive abandoned",
         std::make_exception_ptr(
             operation_aborted("the io_context that was reading the WebSocket to " + where_ +
                               " for an async receive was destroyed before the read ended")));
    return;
  }
  if (reader_ == reader::parked) restart_read_loop();
}

bool ws_session::adopt_guest() {
  const int fd = transport_->fd_for_caller_reads(true);
  if (fd < 0) return false;
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return false;
  boost::system::error_code ec;
  guest_->descriptor.assign(copy, ec);
  if (ec) {
    ::close(copy);
    return false;
  }
  reader_ = reader::guest;
  return true;
}

net::mutable_buffer ws_session::caller_read_buffer(bool& direct) {
  if (!caller_buffer_) {
    caller_buffer_size_ = ws_read_buffer_initial;
    caller_buffer_ = std::make_unique_for_overwrite<char[]>(caller_buffer_size_);
  }
  // As in the read loop, the rest of a long payload goes straight into its message's string.
  const std::span<char> payload = core_.payload_space(direct_read_min);
  const std::size_t want = read_size(caller_buffer_size_, payload);
  direct = !payload.empty();
  return direct ? net::buffer(payload.data(), payload.size())
                : net::buffer(caller_buffer_.get(), want);
}

void ws_session::take_caller_read(bool direct, std::size_t n, const boost::system::error_code& ec) {
  if (!finished_ && !direct) {
    handle_input(std::string_view(caller_buffer_.get(), n), ec);
  } else if (!finished_) {
    if (n > 0) {
      core_.payload_written(n);
      send_now_ = true;
    }
    handle_input({}, ec);
  }
  notify_input();
  if (!direct && n == caller_buffer_size_ && caller_buffer_size_ < ws_read_buffer_max) {
    caller_buffer_size_ *= 2;
    caller_buffer_ = std::make_unique_for_overwrite<char[]>(caller_buffer_size_);
  }
}

void ws_session::guest_read() {
  guest_reading_ = true;
  bool direct = false;
  const net::mutable_buffer buffer = caller_read_buffer(direct);
  // The read does not keep the session alive: a session destroyed meanwhile closes the
  // descriptor first (guest_ goes before the buffers), which ends the read before its bytes.
  guest_->descriptor.async_read_some(
      buffer, [weak = weak_from_this(), generation = guest_->generation, into_payload = direct](
                  boost::system::error_code ec, std::size_t n) {
        if (auto self = weak.lock()) self->on_guest_read(generation, into_payload, ec, n);
      });
}

void ws_session::on_guest_read(std::uint64_t generation, bool direct, boost::system::error_code ec,
                               std::size_t n) {
  std::unique_lock lock(mutex_);
  if (!guest_ || guest_->generation != generation) return;  // dropped: closed or context gone
  guest_reading_ = false;
  last_caller_read_ = coarse_clock::now();
  if (ec == net::error::operation_aborted) ec.clear();
  take_caller_read(direct, n, ec);
  if (!finished_ && guest_ && reader_ == reader::guest) {
    if (std::exchange(loop_after_guest_, false) || paused_ || writing_) {
      drop_guest();
      restart_read_loop();
    } else if (auto sink = sink_.lock(); sink && sink->wants_input()) {
      guest_read();  // the receive waits for more (the rest of a message)
    }
  }
  if (std::exchange(writer_to_spawn_, false)) {
    lock.unlock();
    spawn_writer();
  }
}

void ws_session::drop_guest() {
  if (!guest_) return;
  boost::system::error_code ignored;
  guest_->descriptor.close(ignored);  // leaves the context's reactor; a read there is aborted
  guest_.reset();
  guest_reading_ = false;
  loop_after_guest_ = false;
  if (reader_ == reader::guest) reader_ = reader::parked;
}

void ws_session::restart_read_loop() {
  if (!guest_reading_) drop_guest();  // one reactor waits for input at a time
  reader_ = reader::loop;
  park_wanted_ = false;
  auto self = shared_from_this();
  net::co_spawn(strand_, read_loop({}), [self](std::exception_ptr) {});
}

// On the strand. While blocking receives read, checks now and then that one still comes, and
// else reads in the background again.
void ws_session::watch_parked_reader() {
  if (!park_timer_) park_timer_ = std::make_unique<net::steady_timer>(strand_);
  park_timer_->expires_after(parked_reader_check);
  park_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
    std::lock_guard lock(self->mutex_);
    if (ec || self->finished_ || self->reader_ == reader::loop) return;
    const bool idle_guest = self->reader_ == reader::guest && !self->guest_reading_;
    if ((self->reader_ == reader::parked || idle_guest) && !self->writing_ &&
        coarse_clock::now() - self->last_caller_read_ >= parked_reader_check) {
      self->restart_read_loop();
      return;
    }
    self->watch_parked_reader();
  });
}

void ws_session::cancel_timers() {
  if (close_timer_) close_timer_->cancel();
  if (failure_timer_) failure_timer_->cancel();
  if (keepalive_timer_) keepalive_timer_->cancel();
  if (resume_timer_) resume_timer_->cancel();
  if (park_timer_) park_timer_->cancel();
}

void ws_session::close_transport() {
  drop_guest();  // its duplicate descriptor would keep the connection open
  if (reader_ == reader::caller) {
    transport_->shut_down();  // the reading thread wakes with EOF and closes it
    close_after_read_ = true;
    return;
  }
  transport_->close();
}

void ws_session::drain_events(bool take_failure) {
  for (;;) {
    const proto::ws::event* next = core_.peek_event();
    if (!next) return;
    if (!take_failure && std::holds_alternative<proto::ws::protocol_violation>(*next) &&
        hold_failure()) {
      return;
    }
    auto ev = core_.next_event();
    if (auto* closed = std::get_if<proto::ws::close_received>(&*ev)) {
      open_ = false;
      auto close = closed->close;
      if (close.code == ws::close_code::abnormal && !failure_) {
        failure_ = std::make_exception_ptr(
            read_error("the WebSocket connection to " + where_ + " ended without a close frame"));
      }
      finish(close);
      return;
    }
    if (auto* bad = std::get_if<proto::ws::protocol_violation>(&*ev)) {
      open_ = false;
      if (!failure_) {
        failure_ = std::make_exception_ptr(
            protocol_error("the WebSocket peer " + where_ + " broke the protocol: " + bad->reason +
                           " (closed with " + std::to_string(bad->close_code) + ")"));
      }
      finish(ws::close_event{bad->close_code, bad->reason});
      return;
    }
    if (std::holds_alternative<proto::ws::pong_event>(*ev)) awaiting_pong_ = false;
    if (auto sink = sink_.lock()) sink->on_event(std::move(*ev));
    if (finished_) return;  // the sink failed the connection (a full buffer)
  }
}

// The core ignores input after a violation, so nothing can queue behind it: it waits at the
// front of the core's events until the application asks for more (deliver_held_failure) or
// close_timeout passes, whichever comes first. An application that never reads again cannot
// keep the broken connection open longer than that.
bool ws_session::hold_failure() {
  if (finished_) return false;
  auto sink = sink_.lock();
  if (!sink || sink->takes_failure_now()) return false;
  if (failure_held_) return true;
  failure_held_ = true;
  // Possibly on a caller's thread: timers are the strand's.
  on_strand([this] {
    if (!failure_held_ || finished_) return;
    if (!failure_timer_) failure_timer_ = make_timer();
    failure_timer_->expires_after(options_.close_timeout);
    failure_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
      std::lock_guard lock(self->mutex_);
      if (!ec) self->deliver_held_failure();
    });
  });
  return true;
}

void ws_session::deliver_held_failure() {
  if (!failure_held_ || finished_) return;
  failure_held_ = false;
  drain_events(true);
  // Our close frame is queued: off the strand, flush() left starting the writer to us.
  if (std::exchange(writer_to_spawn_, false)) spawn_writer();
}

bool ws_session::send(ws::frame f, bool is_continuation, send_callback done,
                      std::uint64_t cancel_id) {
  bool spawn = false;
  bool done_now = false;
  {
    std::lock_guard lock(mutex_);
    done_now = send_locked(std::move(f), is_continuation, std::move(done), cancel_id);
    spawn = std::exchange(writer_to_spawn_, false);
  }
  // Started after unlocking, so that the woken I/O thread does not wait for our lock.
  if (spawn) spawn_writer();
  return done_now;
}

bool ws_session::send_now(ws::frame& f, bool is_continuation, std::exception_ptr& error) {
  bool spawn = false;
  {
    std::lock_guard lock(mutex_);
    const bool new_message = f.is_data() && !is_continuation;
    if (finished_ || core_.current_state() != proto::ws::state::open || !deferred_.empty() ||
        (new_message && message_open_) || queued_bytes() >= options_.max_outgoing_bytes) {
      return false;
    }
    // apply_send reports within the call: a callback holding a reference, not an allocation.
    apply_send(
        pending_send{std::move(f), is_continuation, [&error](std::exception_ptr e) { error = e; }});
    flush();
    spawn = std::exchange(writer_to_spawn_, false);
  }
  if (spawn) spawn_writer();
  return true;
}

bool ws_session::cancel_send(std::uint64_t cancel_id, std::exception_ptr reason) {
  bool spawn = false;
  {
    std::lock_guard lock(mutex_);
    const auto it = std::find_if(deferred_.begin(), deferred_.end(),
                                 [&](const pending_send& s) { return s.cancel_id == cancel_id; });
    if (cancel_id == 0 || it == deferred_.end()) return false;
    send_callback done = std::move(it->done);
    deferred_.erase(it);
    if (done) done(reason);
    pump_deferred();  // a new message that waited behind it may go now
    spawn = std::exchange(writer_to_spawn_, false);
  }
  if (spawn) spawn_writer();  // as in send(): once unlocked
  return true;
}

bool ws_session::send_locked(ws::frame f, bool is_continuation, send_callback done,
                             std::uint64_t cancel_id) {
  if (finished_ || core_.current_state() != proto::ws::state::open) {
    if (done) {
      done(std::make_exception_ptr(websocket_closed("the WebSocket to " + where_ + " is closed",
                                                    peer_close_.value_or(ws::close_event{}))));
    }
    return true;
  }
  pending_send s{std::move(f), is_continuation, std::move(done), cancel_id};
  const bool new_message = s.frame.is_data() && !is_continuation;
  const bool full = queued_bytes() >= options_.max_outgoing_bytes;
  if (full && options_.on_outgoing_full == ws::outgoing_full::fail) {
    if (s.done) {
      s.done(std::make_exception_ptr(websocket_buffer_full(
          "the outgoing queue to " + where_ + " holds " + std::to_string(queued_bytes()) +
          " bytes (max_outgoing_bytes); the frame was not sent")));
    }
    return true;
  }
  if (full && options_.on_outgoing_full == ws::outgoing_full::close) {
    auto e = std::make_exception_ptr(websocket_buffer_full(
        "the outgoing queue to " + where_ + " overflowed; the connection was closed"));
    if (s.done) s.done(e);
    // Possibly on a caller's thread: the socket and timers are touched on the strand only.
    on_strand([this, e] { fail(ws::close_code::policy_violation, "outgoing queue full", e); });
    return true;
  }
  if (full || !deferred_.empty() || (new_message && message_open_)) {
    deferred_.push_back(std::move(s));
    pump_deferred();
    return false;  // `done` may have run in pump_deferred, or runs later
  }
  apply_send(std::move(s));
  flush();
  return true;
}

void ws_session::apply_send(pending_send&& s) {
  try {
    core_.send(std::move(s.frame), s.is_continuation);
  } catch (...) {
    if (s.done) s.done(std::current_exception());
    return;
  }
  if (s.frame.is_data()) message_open_ = !s.frame.fin;
  // Done once queued: the frame is in the core's output, in order, and the outgoing bound
  // (queued_bytes) still counts it until it is written. Many frames then go out in one write.
  if (s.done) s.done(nullptr);
}

// Applies deferred sends in order while there is room. A new data message waits while another
// fragmented message is open, and keeps every later new message behind it, but continuations
// and control frames may pass (otherwise the fragmented message could never finish).
void ws_session::pump_deferred() {
  bool message_blocked = false;
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (finished_) return;
    if (queued_bytes() >= options_.max_outgoing_bytes) break;
    const bool new_message = it->frame.is_data() && !it->is_continuation;
    if (new_message && (message_open_ || message_blocked)) {
      message_blocked = true;
      ++it;
      continue;
    }
    pending_send s = std::move(*it);
    it = deferred_.erase(it);
    apply_send(std::move(s));
    if (!message_open_) message_blocked = false;
  }
  flush();
}

void ws_session::flush() {
  if (writing_ || core_.pending_output_size() == 0 || !transport_->is_open()) return;
  const bool bulk = core_.pending_output_size() >= bulk_bytes;
  if ((send_now_ || bulk) && !finished_ && !strand_.running_in_this_thread()) {
    // On a caller's thread with no writer running: one non-blocking send from here, and the
    // I/O thread is woken only for what the socket did not take (or to report an error). For
    // small frames only the first send after input arrived: later ones queue behind the
    // writer and leave in one write, which is cheaper per frame than a send each (a round
    // trip sends once per input, a pipeline many times). A large message is one send either
    // way, and handing it to the I/O thread would only add two thread switches.
    send_now_ = false;
    if (write_from_caller() && core_.pending_output_size() == 0) {
      if (!deferred_.empty()) pump_deferred();  // room was made: queue what waited
      return;
    }
  }
  writing_ = true;
  if (strand_.running_in_this_thread()) {
    spawn_writer();
  } else {
    writer_to_spawn_ = true;  // the public member that got here starts it once unlocked
  }
}

bool ws_session::write_from_caller() {
  boost::system::error_code ec;
  const int fd = core_.pending_output_is_one_run() ? -1 : transport_->fd_for_caller_reads(false);
  if (fd < 0) {
    // One run of bytes (small frames), or a stream with no descriptor: one plain send.
    const std::size_t n = transport_->try_write_now(core_.pending_output(), ec);
    if (n > 0) core_.consume_output(n);
    return !ec;
  }
  // Header and payload pieces in one gathering send. A large payload is masked as it goes
  // out: a first slice, then the rest, so that the peer is busy with the first while the rest
  // is masked (rather than idle while all of it is).
  std::size_t slice = first_write_slice;
  while (core_.pending_output_size() != 0) {
    const std::size_t want = std::min(slice, core_.pending_output_size());
    std::size_t left = want;
    caller_pieces_.clear();
    core_.output_prefix(want).for_each_piece([&](std::string_view piece) {
      const std::size_t k = std::min(left, piece.size());
      if (k > 0) caller_pieces_.push_back(net::buffer(piece.data(), k));
      left -= k;
    });
    const std::size_t n = write_nonblocking(fd, caller_pieces_, ec);
    if (n > 0) core_.consume_output(n);
    if (ec || n < want) break;  // the socket is full: the writer sends the rest
    slice = std::numeric_limits<std::size_t>::max();
  }
  return !ec;
}

void ws_session::spawn_writer() {
  auto self = shared_from_this();
  net::co_spawn(strand_, write_loop(), [self](std::exception_ptr) {});
}

// Writes everything the core has queued, in as few writes as possible: frames queued while a
// write is in flight go out together in the next one.
net::awaitable<void> ws_session::write_loop() {
  std::unique_lock lock(mutex_);
  std::vector<net::const_buffer> buffers;
  while (core_.pending_output_size() != 0 && transport_->is_open()) {
    core_.take_output(write_buffer_);  // O(1): the core continues in the other queue
    const std::size_t out = write_buffer_.size();
    moved_ += out;
    boost::system::error_code ec;
    // Frame bytes and large payloads (kept in their own strings) leave in one gathering write.
    buffers.clear();
    write_buffer_.for_each_piece([&](std::string_view piece) {
      buffers.push_back(net::buffer(piece.data(), piece.size()));
    });
    try {
      transport_->attach_for_async();  // after blocking receives read on their threads
    } catch (const courier::error&) {
      ec = net::error::bad_descriptor;
    }
    if (!ec) {
      lock.unlock();
      co_await transport_->write(buffers, ec);
      lock.lock();
    }
    if (ec) {
      deliver_held_failure();  // the broken protocol, not the write, is what failed first
      writing_ = false;
      if (!failure_) {
        failure_ = std::make_exception_ptr(
            write_error("sending to the WebSocket peer " + where_ + " failed: " + ec.message()));
      }
      fail_all_sends(failure_);
      close_transport();
      finish(ws::close_event{ws::close_code::abnormal, "the connection was lost while sending"});
      co_return;
    }
    written_ += out;
    write_buffer_.consume(out);
    pump_deferred();
  }
  writing_ = false;
  if (finished_) close_transport();
}

void ws_session::fail_all_sends(std::exception_ptr e) {
  auto deferred = std::move(deferred_);
  deferred_.clear();
  for (auto& d : deferred) {
    if (d.done) d.done(e);
  }
}

void ws_session::close(std::uint16_t code, std::string reason, send_callback done) {
  bool spawn = false;
  {
    std::lock_guard lock(mutex_);
    close_locked(code, std::move(reason), std::move(done));
    spawn = std::exchange(writer_to_spawn_, false);
  }
  if (spawn) spawn_writer();
  want_background_reading();  // the handshake needs the peer's close frame
}

void ws_session::close_locked(std::uint16_t code, std::string reason, send_callback done) {
  deliver_held_failure();  // no close handshake with a peer that broke the protocol
  if (finished_) {
    if (done) done(nullptr);
    return;
  }
  if (core_.current_state() == proto::ws::state::open) {
    try {
      core_.send_close(code, reason);
    } catch (...) {
      if (done) done(std::current_exception());
      return;
    }
  }
  open_ = false;
  if (done) close_waiters_.push_back(std::move(done));
  auto closed = std::make_exception_ptr(websocket_closed(
      "the WebSocket to " + where_ + " is closing", ws::close_event{code, reason}));
  auto deferred = std::move(deferred_);
  deferred_.clear();
  for (auto& d : deferred) {
    if (d.done) d.done(closed);
  }
  flush();
  if (!close_timer_) {
    close_timer_ = make_timer();
    close_timer_->expires_after(options_.close_timeout);
    auto self = shared_from_this();
    close_timer_->async_wait([self](boost::system::error_code ec) {
      std::lock_guard lock(self->mutex_);
      if (ec || self->finished_) return;
      self->close_transport();
      self->finish(ws::close_event{
          ws::close_code::abnormal,
          "the peer did not answer the close frame within " + ms(self->options_.close_timeout)});
    });
  }
}

void ws_session::fail(std::uint16_t code, std::string reason, std::exception_ptr error) {
  std::lock_guard lock(mutex_);
  deliver_held_failure();  // the violation came first
  if (finished_) return;
  if (!failure_) failure_ = error;
  if (core_.current_state() == proto::ws::state::open) {
    try {
      core_.send_close(code, reason);
    } catch (...) {
    }
  }
  open_ = false;
  flush();
  finish(ws::close_event{code, std::move(reason)});
}

void ws_session::abandon_close() {
  // From the canceller's thread: the socket and timers are touched on the strand only.
  net::post(strand_, [self = shared_from_this()] {
    std::lock_guard lock(self->mutex_);
    if (self->finished_) return;
    self->close_transport();
    self->finish(ws::close_event{ws::close_code::abnormal,
                                 "the close handshake was abandoned before the peer answered"});
  });
}

void ws_session::pause() noexcept {
  std::lock_guard lock(mutex_);
  paused_ = true;
}

// Called after every receive: cheap unless reading was paused. The timer belongs to the
// strand, so a caller's thread hands the wake-up over.
void ws_session::resume() {
  std::lock_guard lock(mutex_);
  resume_held();
}

void ws_session::resume_held() {
  if (!paused_) return;
  paused_ = false;
  on_strand([this] {
    if (resume_timer_) resume_timer_->cancel();
  });
}

void ws_session::finish(const ws::close_event& close) {
  if (finished_) return;
  finished_ = true;
  failure_held_ = false;
  open_ = false;
  peer_close_ = close;
  notify_input();
  // Possibly on a caller's thread (a blocking receive read the close): timers are the strand's.
  on_strand([this] { cancel_timers(); });
  auto closed =
      std::make_exception_ptr(websocket_closed("the WebSocket to " + where_ + " is closed", close));
  auto deferred = std::move(deferred_);
  deferred_.clear();
  for (auto& d : deferred) {
    if (d.done) d.done(closed);
  }
  if (auto sink = sink_.lock()) {
    if (failure_) sink->on_failure(failure_);
    sink->on_closed(close);
  }
  owned_sink_.reset();  // a listener is not called after on_closed
  auto waiters = std::move(close_waiters_);
  close_waiters_.clear();
  for (auto& w : waiters)
    w(nullptr);
  // Our close frame or echo may still be queued: the writer closes TCP once it is out.
  if (!writing_) {
    flush();
    if (!writing_) close_transport();
  }
}

net::awaitable<void> ws_session::keepalive_loop() {
  std::unique_lock lock(mutex_);
  keepalive_timer_ = make_timer();
  // A ping every ping_interval: the wait for its pong is part of the interval (a pong
  // timeout longer than the interval sends the next ping as soon as it has passed).
  const auto between =
      std::max(*options_.ping_interval - options_.pong_timeout, std::chrono::milliseconds{0});
  bool first = true;
  while (!finished_) {
    boost::system::error_code ec;
    keepalive_timer_->expires_after(std::exchange(first, false) ? *options_.ping_interval
                                                                : between);
    lock.unlock();
    co_await keepalive_timer_->async_wait(net::redirect_error(net::use_awaitable, ec));
    lock.lock();
    if (ec || finished_) co_return;
    awaiting_pong_ = true;
    apply_send(pending_send{ws::frame::ping("courier keep-alive"), false, nullptr});
    flush();
    keepalive_timer_->expires_after(options_.pong_timeout);
    lock.unlock();
    co_await keepalive_timer_->async_wait(net::redirect_error(net::use_awaitable, ec));
    lock.lock();
    if (ec || finished_) co_return;
    if (awaiting_pong_) {
      fail(ws::close_code::going_away, "no pong",
           std::make_exception_ptr(timeout_error("keep-alive: no pong from the WebSocket peer " +
                                                 where_ + " within " + ms(options_.pong_timeout) +
                                                 "; the connection is considered dead")));
      co_return;
    }
  }
}

}  // namespace courier::asio_detail
