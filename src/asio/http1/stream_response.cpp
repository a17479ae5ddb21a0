#include "asio/http1/stream_response.hpp"
#include "asio/spawned_cancellation.hpp"

#include <courier/error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstring>
#include <future>

namespace courier::asio_detail {

namespace {
// Decoding is fed this much at a time, so a highly compressed body cannot make one step's
// output huge (deflate expands at most about 1032:1: 16 MiB from 16 KiB).
constexpr std::size_t decode_step = 16 * 1024;
// The socket read size of a stream (the most raw bytes it holds at once).
constexpr std::size_t stream_read_size = 256 * 1024;

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

// Clears the "a read is running" flag when the read ends, however it ends.
struct busy_guard {
  std::atomic<bool>& flag;
  ~busy_guard() { flag = false; }
};
}  // namespace

stream_response::stream_response(stream_response_parts parts)
    : p_(std::move(parts)),
      strand_(net::make_strand(p_.backend->ioc)),
      reporter_(&p_.progress, transfer_progress::direction::download, p_.progress_interval) {
  // Larger socket reads than the exchange's: fewer trips to the I/O thread per byte.
  if (p_.buffer.size() < stream_read_size) p_.buffer.resize(stream_read_size);
  reporter_.set_total(p_.content_length);
  received_ = p_.body.size();
  if (!p_.body.empty()) reporter_.add(p_.body.size(), clock::now());
}

stream_response::~stream_response() {
  if (!finished_) give_up();
}

void stream_response::give_up() noexcept {
  // Abandoned or failed: the rest of the body is not drained (it may never end); the connection
  // is closed and its pool slot freed.
  if (p_.conn) p_.backend->pool.release(std::move(p_.conn), false);
}

void stream_response::take_events() {
  namespace http1 = proto::http1;
  while (auto ev = p_.parser.next_event()) {
    if (auto* b = std::get_if<http1::body_event>(&*ev)) {
      p_.body.append(b->data);  // a view into the read buffer: copied before it moves
      received_ += b->data.size();
      reporter_.add(b->data.size(), clock::now());
    } else if (auto* e = std::get_if<http1::end_event>(&*ev)) {
      p_.keep_alive = p_.keep_alive && e->keep_alive;
      p_.trailers = std::move(e->trailers);
      p_.complete = true;
      break;
    }
  }
}

void stream_response::finish_body() {
  if (p_.decoder) {
    ready_.clear();
    ready_from_ = 0;
    p_.decoder->finish(ready_);
  }
  finished_ = true;
  if (p_.conn) {
    p_.conn->requests_served++;
    // Bytes after the end of the response belong to nothing we sent: do not reuse.
    p_.backend->pool.release(std::move(p_.conn), p_.keep_alive && p_.buffered == 0);
  }
  reporter_.finish();
}

namespace {
operation_aborted read_cancelled(const std::string& where) {
  return operation_aborted("the read of the streamed body from " + where +
                           " was cancelled; the stream stays open");
}
}  // namespace

net::awaitable<std::size_t> stream_response::fill(std::span<char> out) {
  if (failed_) std::rethrow_exception(failed_);
  std::exception_ptr e;
  try {
    co_return co_await fill_unguarded(out);
  } catch (...) {
    e = std::current_exception();
  }
  // A cancelled async read took nothing (a read cancelled while it waits reads no byte): the
  // stream stays usable, and only this read ends.
  if ((co_await net::this_coro::cancellation_state).cancelled() != net::cancellation_type::none) {
    throw read_cancelled(p_.where);
  }
  failed_ = e;
  give_up();
  std::rethrow_exception(failed_);
}

std::optional<std::size_t> stream_response::take_buffered(std::span<char> out) {
  if (out.empty()) return 0;
  for (;;) {
    // Decoded bytes waiting for the caller.
    if (ready_from_ < ready_.size()) {
      std::size_t n = std::min(out.size(), ready_.size() - ready_from_);
      std::memcpy(out.data(), ready_.data() + ready_from_, n);
      ready_from_ += n;
      if (ready_from_ == ready_.size()) {
        ready_.clear();
        ready_from_ = 0;
      }
      return n;
    }
    // Parsed body bytes: handed out as they are, or decoded a bounded piece at a time.
    if (decoded_from_ < p_.body.size()) {
      std::size_t left = p_.body.size() - decoded_from_;
      std::size_t n = 0;
      if (p_.decoder) {
        std::size_t piece = std::min(left, decode_step);
        p_.decoder->decode(std::string_view(p_.body).substr(decoded_from_, piece), ready_);
        decoded_from_ += piece;
      } else {
        n = std::min(out.size(), left);
        std::memcpy(out.data(), p_.body.data() + decoded_from_, n);
        decoded_from_ += n;
      }
      if (decoded_from_ == p_.body.size()) {
        p_.body.clear();
        decoded_from_ = 0;
      }
      if (n > 0) return n;
      continue;
    }
    if (p_.complete) {
      if (!finished_) {
        finish_body();
        continue;  // the decoder's last bytes
      }
      at_end_ = true;
      return 0;
    }
    if (p_.buffered > 0) {
      std::size_t used = 0;
      try {
        used = p_.parser.feed(std::string_view(p_.buffer.data(), p_.buffered));
      } catch (const protocol_error& e) {
        throw protocol_error("the response from " + p_.where +
                             " is not valid HTTP/1.1: " + e.what());
      }
      take_events();  // body events view `buffer`: taken before it shifts
      std::memmove(p_.buffer.data(), p_.buffer.data() + used, p_.buffered - used);
      p_.buffered -= used;
      if (used > 0 || p_.complete) continue;
    }
    if (p_.eof) {
      try {
        p_.parser.feed_eof();  // completes a close-delimited body, or throws read_error
      } catch (const read_error& e) {
        throw read_error("reading the streamed body from " + p_.where + " failed: " + e.what());
      }
      take_events();
      if (p_.complete) continue;
      throw read_error("the connection to " + p_.where + " closed after " +
                       std::to_string(received_.load()) + " body bytes, before the body ended");
    }
    return std::nullopt;  // the socket must be read
  }
}

net::awaitable<std::size_t> stream_response::fill_unguarded(std::span<char> out) {
  for (;;) {
    if (auto n = take_buffered(out)) co_return *n;
    deadline timer(strand_);
    timer.arm(after(clock::now(), p_.read_timeout), [c = p_.conn.get()] { c->cancel(); });
    boost::system::error_code ec;
    std::size_t n = co_await p_.conn->read_some(
        net::buffer(p_.buffer.data() + p_.buffered, p_.buffer.size() - p_.buffered), ec);
    timer.disarm();
    if (timer.expired()) {
      throw timeout_error("read timeout: no data from " + p_.where + " for " + ms(p_.read_timeout) +
                          " while streaming the body (" + std::to_string(received_.load()) +
                          " body bytes had arrived)");
    }
    p_.buffered += n;
    if (ec) {
      if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
        p_.eof = true;
      } else {
        throw read_error("reading the streamed body from " + p_.where + " failed after " +
                         std::to_string(received_.load()) + " body bytes: " + ec.message());
      }
    }
  }
}

std::size_t stream_response::read_some(std::span<char> buffer) {
  p_.backend->check_blocking_allowed("body_stream::read_some()");
  if (busy_.exchange(true)) {
    throw invalid_request("body_stream::read_some(): another read of this stream is running");
  }
  busy_guard guard{busy_};
  // What is already buffered is handed out on this thread: no hop to the I/O thread, which is
  // idle meanwhile (one read at a time). Only reading the socket needs it.
  if (failed_) std::rethrow_exception(failed_);
  try {
    if (auto n = take_buffered(buffer)) return *n;
  } catch (...) {
    failed_ = std::current_exception();
    give_up();
    throw;
  }
  // Shared: if the wait below gives up, a late completion must not touch a dead promise.
  auto promise = std::make_shared<std::promise<std::size_t>>();
  auto result = promise->get_future();
  net::co_spawn(strand_, fill(buffer),
                [promise, self = shared_from_this()](std::exception_ptr e, std::size_t n) {
                  if (e) {
                    promise->set_exception(e);
                  } else {
                    promise->set_value(n);
                  }
                });
  // The backend may be destroyed meanwhile; then nothing would ever answer.
  while (result.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
    if (p_.backend->stopped) {
      throw operation_aborted(
          "body_stream::read_some(): the asio_backend it belongs to was "
          "destroyed");
    }
  }
  return result.get();
}

void stream_response::async_read_some(std::span<char> buffer, read_handler done) {
  // A cancelled read takes nothing: fill() reports it without failing the stream.
  spawn_body_read(
      shared_from_this(), busy_, strand_, fill(buffer),
      [where = p_.where] { return std::make_exception_ptr(read_cancelled(where)); },
      std::move(done));
}

}  // namespace courier::asio_detail
