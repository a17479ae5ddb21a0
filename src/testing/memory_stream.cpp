#include "testing/memory_stream.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstring>

namespace courier::testing::detail {

namespace net = boost::asio;

bool memory_channel::write(std::string_view bytes) {
  {
    std::lock_guard lock(mutex_);
    if (reader_closed_ || writer_closed_) return false;
    bytes_.append(bytes);
  }
  wake({});
  return true;
}

void memory_channel::close_writer() {
  {
    std::lock_guard lock(mutex_);
    writer_closed_ = true;
  }
  wake({});
}

void memory_channel::close_reader() {
  {
    std::lock_guard lock(mutex_);
    reader_closed_ = true;
    bytes_.clear();
  }
  wake(net::error::operation_aborted);
}

std::size_t memory_channel::take(char* out, std::size_t n, bool& eof) {
  std::lock_guard lock(mutex_);
  std::size_t k = std::min(n, bytes_.size());
  std::memcpy(out, bytes_.data(), k);
  bytes_.erase(0, k);
  eof = k == 0 && (writer_closed_ || reader_closed_);
  return k;
}

void memory_channel::cancel_wait() {
  wake(net::error::operation_aborted);
}

void memory_channel::abandon() {
  std::optional<waiter> w;
  {
    std::lock_guard lock(mutex_);
    w.swap(waiter_);
  }
}

void memory_channel::start_wait(waiter w) {
  std::unique_lock lock(mutex_);
  if (!bytes_.empty() || writer_closed_ || reader_closed_) {
    lock.unlock();
    complete(std::move(w), {});
    return;
  }
  waiter_ = std::move(w);
}

void memory_channel::complete(waiter w, boost::system::error_code ec) {
  // Never inline: the reader resumes on its own executor (its strand), not inside the
  // writer's call.
  net::post(ex_, [w = std::move(w), ec, io = ex_]() mutable {
    auto ex = net::get_associated_executor(w, io);
    net::dispatch(ex, [w = std::move(w), ec]() mutable { std::move(w)(ec); });
  });
}

void memory_channel::wake(boost::system::error_code ec) {
  std::optional<waiter> w;
  {
    std::lock_guard lock(mutex_);
    w.swap(waiter_);
  }
  if (w) complete(std::move(*w), ec);
}

net::awaitable<std::size_t> memory_stream::write(const std::vector<net::const_buffer>& buffers,
                                                 boost::system::error_code& ec) {
  ec = {};
  if (!open_) {
    ec = net::error::bad_descriptor;
    co_return 0;
  }
  std::size_t total = 0;
  for (const auto& b : buffers) {
    if (!out_->write(std::string_view(static_cast<const char*>(b.data()), b.size()))) {
      ec = net::error::broken_pipe;
      co_return total;
    }
    total += b.size();
  }
  co_return total;
}

net::awaitable<std::size_t> memory_stream::read_some(net::mutable_buffer buffer,
                                                     boost::system::error_code& ec) {
  ec = {};
  for (;;) {
    if (!open_) {
      ec = net::error::bad_descriptor;
      co_return 0;
    }
    bool eof = false;
    std::size_t n = in_->take(static_cast<char*>(buffer.data()), buffer.size(), eof);
    if (n > 0) co_return n;
    if (eof) {
      ec = net::error::eof;
      co_return 0;
    }
    boost::system::error_code wait_ec;
    co_await in_->async_wait(net::redirect_error(net::use_awaitable, wait_ec));
    if (wait_ec) {
      ec = wait_ec;
      co_return 0;
    }
  }
}

void memory_stream::cancel() noexcept {
  in_->cancel_wait();
}

void memory_stream::close() noexcept {
  if (!open_.exchange(false)) return;
  out_->close_writer();
  in_->close_reader();
}

memory_pipe make_memory_pipe(const net::any_io_executor& ex) {
  memory_pipe p;
  p.to_server = std::make_shared<memory_channel>(ex);
  p.to_client = std::make_shared<memory_channel>(ex);
  p.client = std::make_unique<memory_stream>(p.to_client, p.to_server);
  p.server = std::make_unique<memory_stream>(p.to_server, p.to_client);
  return p;
}

}  // namespace courier::testing::detail
