#include "asio/http2/h2_body_stream.hpp"
#include "asio/spawned_cancellation.hpp"

#include <courier/error.hpp>

#include <boost/asio/strand.hpp>

#include <algorithm>
#include <cstring>
#include <type_traits>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 misreads a coroutine frame's own operator new/delete pair as a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace courier::asio_detail {

h2_body_stream::h2_body_stream(net::any_io_executor strand, std::shared_ptr<h2_connection> conn,
                               std::shared_ptr<h2_stream> stream,
                               std::unique_ptr<detail::content_decoder> decoder, std::string where,
                               std::chrono::milliseconds read_timeout,
                               std::optional<std::uint64_t> length, progress_callback progress,
                               std::chrono::milliseconds progress_interval)
    : strand_(std::move(strand)),
      conn_(std::move(conn)),
      stream_(std::move(stream)),
      decoder_(std::move(decoder)),
      where_(std::move(where)),
      read_timeout_(read_timeout),
      progress_callback_(std::move(progress)),
      progress_(&progress_callback_, transfer_progress::direction::download, progress_interval) {
  progress_.set_total(length);
}

h2_body_stream::~h2_body_stream() {
  conn_->cancel(*stream_);  // nothing when the stream is over
}

courier::headers h2_body_stream::trailers() const {
  return at_end_.load() ? trailers_ : courier::headers{};
}

std::optional<std::size_t> h2_body_stream::take_ready(std::span<char> out) {
  if (failed_) std::rethrow_exception(failed_);
  try {
    for (;;) {
      if (ready_from_ < ready_.size()) {
        const std::size_t n = std::min(out.size(), ready_.size() - ready_from_);
        std::memcpy(out.data(), ready_.data() + ready_from_, n);
        ready_from_ += n;
        return n;
      }
      if (ended_) {
        at_end_ = true;
        return 0;
      }
      auto e = conn_->take_event(*stream_);
      if (!e) {
        if (conn_->drained(*stream_)) {
          throw read_error("the HTTP/2 stream from " + where_ + " ended before its body did");
        }
        return std::nullopt;
      }
      ready_.clear();
      ready_from_ = 0;
      if (auto* d = std::get_if<http2::data_event>(&*e)) {
        conn_->consumed(*stream_, d->data.size());  // the window reopens as the caller reads
        received_ += d->data.size();
        progress_.add(d->data.size(), progress_.reports() ? clock::now() : clock::time_point{});
        if (decoder_) {
          decoder_->decode(d->data, ready_);
        } else {
          ready_ = std::move(d->data);
        }
      } else if (std::holds_alternative<http2::end_of_stream_event>(*e)) {
        if (decoder_) decoder_->finish(ready_);
        progress_.finish();
        ended_ = true;
      } else if (auto* r = std::get_if<http2::stream_reset_event>(&*e)) {
        const std::string message = "reading the response body from " + where_ +
                                    " over HTTP/2 failed after " +
                                    std::to_string(received_.load()) + " bytes: " + r->message;
        if (r->protocol_violation) throw protocol_error(message);
        throw read_error(message);
      } else if (auto* t = std::get_if<http2::trailers_event>(&*e)) {
        trailers_ = std::move(t->trailers);
      }
    }
  } catch (...) {
    failed_ = std::current_exception();
    conn_->cancel(*stream_);
    throw;
  }
}

void h2_body_stream::timed_out() const {
  throw timeout_error("read timeout: no data from " + where_ + " for " +
                      std::to_string(read_timeout_.count()) + " ms");
}

std::size_t h2_body_stream::read_some(std::span<char> buffer) {
  if (busy_.exchange(true)) {
    throw invalid_request("body_stream::read_some(): another read of this stream is running");
  }
  struct release {
    std::atomic<bool>& busy;
    ~release() { busy = false; }
  } guard{busy_};
  for (;;) {
    if (auto n = take_ready(buffer)) return *n;
    if (!conn_->wait_here(stream_, after(clock::now(), read_timeout_))) timed_out();
  }
}

net::awaitable<std::size_t> h2_body_stream::fill(std::span<char> out) {
  auto self = shared_from_this();
  for (;;) {
    if (auto n = take_ready(out)) co_return *n;
    if (!co_await conn_->wait(stream_, after(clock::now(), read_timeout_))) timed_out();
  }
}

void h2_body_stream::async_read_some(std::span<char> buffer, read_handler done) {
  spawn_body_read(
      shared_from_this(), busy_, strand_, fill(buffer),
      [where = where_] {
        return std::make_exception_ptr(
            operation_aborted("the read of the response body from " + where + " was cancelled"));
      },
      std::move(done));
}

}  // namespace courier::asio_detail
