#include "asio/ws/session_timer.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <future>
#include <mutex>
#include <optional>
#include <utility>

namespace courier::asio_detail {

namespace net = boost::asio;

// On a time_source: the expiry is an event there, told apart from later ones by its number;
// the handler waits here until it fires. Shared with the events, which may outlive the timer.
struct session_timer::virtual_wait {
  std::mutex mutex;
  std::uint64_t expiry = 0;  // the current expiry's number
  bool expired = false;      // the current expiry has passed
  std::optional<wait_handler> handler;
};

namespace {
void complete(const session_timer::strand_type& strand, session_timer::wait_handler h,
              boost::system::error_code ec) {
  net::post(strand, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
}
}  // namespace

session_timer::session_timer(strand_type strand, std::shared_ptr<time_source> source)
    : strand_(std::move(strand)), source_(std::move(source)) {
  if (source_) {
    virtual_ = std::make_shared<virtual_wait>();
  } else {
    steady_ = std::make_unique<net::steady_timer>(strand_);
  }
}

session_timer::~session_timer() {
  cancel();
}

void session_timer::expires_after(std::chrono::milliseconds d) {
  if (steady_) {
    steady_->expires_after(d);
    return;
  }
  std::optional<wait_handler> aborted;
  std::uint64_t expiry = 0;
  {
    std::lock_guard lock(virtual_->mutex);
    expiry = ++virtual_->expiry;
    virtual_->expired = false;
    aborted.swap(virtual_->handler);
  }
  if (aborted) complete(strand_, std::move(*aborted), net::error::operation_aborted);
  source_->call_after(d, [weak = std::weak_ptr(virtual_), strand = strand_, expiry] {
    auto w = weak.lock();
    if (!w) return;
    std::optional<wait_handler> due;
    {
      std::lock_guard lock(w->mutex);
      if (w->expiry != expiry) return;  // re-set since
      w->expired = true;
      due.swap(w->handler);
    }
    if (!due) return;
    // Waits until the handler has run (bounded), so that what it starts (the next keep-alive
    // wait, a ping) is on the clock before time moves on; not on the context's own thread,
    // which would wait for itself.
    auto ran = std::make_shared<std::promise<void>>();
    auto finished = ran->get_future();
    net::post(strand, [h = std::move(*due), ran]() mutable {
      std::move(h)(boost::system::error_code{});
      ran->set_value();
    });
    const net::any_io_executor inner = strand.get_inner_executor();
    const auto* io = inner.target<net::io_context::executor_type>();
    if (!io || !io->running_in_this_thread()) finished.wait_for(std::chrono::seconds(1));
  });
}

void session_timer::start_wait(wait_handler h) {
  if (steady_) {
    steady_->async_wait(std::move(h));
    return;
  }
  {
    std::lock_guard lock(virtual_->mutex);
    if (!virtual_->expired) {
      virtual_->handler.emplace(std::move(h));
      return;
    }
  }
  complete(strand_, std::move(h), {});
}

void session_timer::cancel() {
  if (steady_) {
    steady_->cancel();
    return;
  }
  std::optional<wait_handler> aborted;
  {
    std::lock_guard lock(virtual_->mutex);
    aborted.swap(virtual_->handler);
  }
  if (aborted) complete(strand_, std::move(*aborted), net::error::operation_aborted);
}

}  // namespace courier::asio_detail
