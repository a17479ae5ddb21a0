#include "asio/ws_session.hpp"

#include <courier/error.hpp>
#include <courier/ws/errors.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace courier::asio_detail {

namespace {
constexpr std::size_t ws_read_buffer_size = 64 * 1024;
std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}
}  // namespace

ws_session::ws_session(ws_strand strand, std::unique_ptr<transport> t,
                       proto::ws::connection_options core, ws::connection_options options,
                       std::string where)
    : strand_(std::move(strand)),
      transport_(std::move(t)),
      core_(std::move(core)),
      options_(std::move(options)),
      where_(std::move(where)) {}

ws_session::~ws_session() = default;

void ws_session::start(std::weak_ptr<ws_event_sink> sink, bool own_sink, std::string initial) {
  sink_ = sink;
  if (own_sink) owned_sink_ = sink.lock();
  auto self = shared_from_this();
  net::co_spawn(strand_, read_loop(std::move(initial)), [self](std::exception_ptr) {});
  if (options_.ping_interval) {
    net::co_spawn(strand_, keepalive_loop(), [self](std::exception_ptr) {});
  }
}

std::uint64_t ws_session::queued_bytes() const noexcept {
  return moved_ + core_.pending_output().size() - written_;
}

net::awaitable<void> ws_session::read_loop(std::string initial) {
  if (!initial.empty()) {
    core_.receive_data(initial);
    drain_events();
    flush();
  }
  std::vector<char> buffer(ws_read_buffer_size);
  while (!finished_) {
    if (paused_) {
      resume_timer_ = std::make_unique<net::steady_timer>(strand_, clock::time_point::max());
      boost::system::error_code ignored;
      co_await resume_timer_->async_wait(net::redirect_error(net::use_awaitable, ignored));
      resume_timer_.reset();
      continue;
    }
    boost::system::error_code ec;
    std::size_t n = co_await transport_->read_some(net::buffer(buffer), ec);
    if (finished_) break;
    if (n > 0) core_.receive_data(std::string_view(buffer.data(), n));
    if (ec) {
      if (ec != net::error::eof && ec != net::ssl::error::stream_truncated && !failure_) {
        failure_ = std::make_exception_ptr(
            read_error("the WebSocket connection to " + where_ + " was lost: " + ec.message()));
      }
      core_.receive_eof();
    }
    drain_events();
    flush();
    if (ec) break;
  }
}

void ws_session::drain_events() {
  while (auto ev = core_.next_event()) {
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

void ws_session::send(ws::frame f, bool is_continuation, send_callback done) {
  if (finished_ || core_.current_state() != proto::ws::state::open) {
    if (done) {
      done(std::make_exception_ptr(websocket_closed("the WebSocket to " + where_ + " is closed",
                                                    peer_close_.value_or(ws::close_event{}))));
    }
    return;
  }
  pending_send s{std::move(f), is_continuation, std::move(done)};
  const bool new_message = s.frame.is_data() && !is_continuation;
  const bool full = queued_bytes() >= options_.max_outgoing_bytes;
  if (full && options_.on_outgoing_full == ws::outgoing_full::fail) {
    if (s.done) {
      s.done(std::make_exception_ptr(websocket_buffer_full(
          "the outgoing queue to " + where_ + " holds " + std::to_string(queued_bytes()) +
          " bytes (max_outgoing_bytes); the frame was not sent")));
    }
    return;
  }
  if (full && options_.on_outgoing_full == ws::outgoing_full::close) {
    auto e = std::make_exception_ptr(websocket_buffer_full(
        "the outgoing queue to " + where_ + " overflowed; the connection was closed"));
    if (s.done) s.done(e);
    fail(ws::close_code::policy_violation, "outgoing queue full", e);
    return;
  }
  if (full || !deferred_.empty() || (new_message && message_open_)) {
    deferred_.push_back(std::move(s));
    pump_deferred();
    return;
  }
  apply_send(std::move(s));
  flush();
}

void ws_session::apply_send(pending_send&& s) {
  try {
    core_.send(s.frame, s.is_continuation);
  } catch (...) {
    if (s.done) s.done(std::current_exception());
    return;
  }
  if (s.frame.is_data()) message_open_ = !s.frame.fin;
  if (s.done) completions_.push_back({moved_ + core_.pending_output().size(), std::move(s.done)});
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
  if (writing_ || core_.pending_output().empty() || !transport_->is_open()) return;
  writing_ = true;
  auto self = shared_from_this();
  net::co_spawn(strand_, write_loop(), [self](std::exception_ptr) {});
}

// Writes everything the core has queued, in as few writes as possible: frames queued while a
// write is in flight go out together in the next one.
net::awaitable<void> ws_session::write_loop() {
  while (!core_.pending_output().empty() && transport_->is_open()) {
    auto out = core_.pending_output();
    write_buffer_.assign(out.data(), out.size());
    core_.consume_output(out.size());
    moved_ += write_buffer_.size();
    boost::system::error_code ec;
    const std::vector<net::const_buffer> buffers{net::buffer(write_buffer_)};
    co_await transport_->write(buffers, ec);
    if (ec) {
      writing_ = false;
      if (!failure_) {
        failure_ = std::make_exception_ptr(
            write_error("sending to the WebSocket peer " + where_ + " failed: " + ec.message()));
      }
      fail_all_sends(failure_);
      transport_->close();
      finish(ws::close_event{ws::close_code::abnormal, "the connection was lost while sending"});
      co_return;
    }
    written_ += write_buffer_.size();
    complete_written();
    pump_deferred();
  }
  writing_ = false;
  if (finished_) transport_->close();
}

void ws_session::complete_written() {
  while (!completions_.empty() && completions_.front().mark <= written_) {
    auto done = std::move(completions_.front().done);
    completions_.pop_front();
    done(nullptr);
  }
}

void ws_session::fail_all_sends(std::exception_ptr e) {
  auto completions = std::move(completions_);
  auto deferred = std::move(deferred_);
  completions_.clear();
  deferred_.clear();
  for (auto& c : completions)
    c.done(e);
  for (auto& d : deferred) {
    if (d.done) d.done(e);
  }
}

void ws_session::close(std::uint16_t code, std::string reason, send_callback done) {
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
    close_timer_ = std::make_unique<net::steady_timer>(strand_);
    close_timer_->expires_after(options_.close_timeout);
    auto self = shared_from_this();
    close_timer_->async_wait([self](boost::system::error_code ec) {
      if (ec || self->finished_) return;
      self->transport_->close();
      self->finish(ws::close_event{
          ws::close_code::abnormal,
          "the peer did not answer the close frame within " + ms(self->options_.close_timeout)});
    });
  }
}

void ws_session::fail(std::uint16_t code, std::string reason, std::exception_ptr error) {
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

void ws_session::resume() {
  paused_ = false;
  if (resume_timer_) resume_timer_->cancel();
}

void ws_session::finish(const ws::close_event& close) {
  if (finished_) return;
  finished_ = true;
  open_ = false;
  peer_close_ = close;
  if (close_timer_) close_timer_->cancel();
  if (keepalive_timer_) keepalive_timer_->cancel();
  if (resume_timer_) resume_timer_->cancel();
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
    if (!writing_) transport_->close();
  }
}

net::awaitable<void> ws_session::keepalive_loop() {
  keepalive_timer_ = std::make_unique<net::steady_timer>(strand_);
  while (!finished_) {
    boost::system::error_code ec;
    keepalive_timer_->expires_after(*options_.ping_interval);
    co_await keepalive_timer_->async_wait(net::redirect_error(net::use_awaitable, ec));
    if (ec || finished_) co_return;
    awaiting_pong_ = true;
    apply_send(pending_send{ws::frame::ping("courier keep-alive"), false, nullptr});
    flush();
    keepalive_timer_->expires_after(options_.pong_timeout);
    co_await keepalive_timer_->async_wait(net::redirect_error(net::use_awaitable, ec));
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
