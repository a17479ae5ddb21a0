#include "asio/backend_impl.hpp"
#include "asio/ws/ws_session.hpp"
#include "core/hot_path.hpp"

#include <courier/error.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace courier {

namespace {
void configure_tls(asio_detail::net::ssl::context& ctx, const tls_options& opts) {
  namespace ssl = asio_detail::net::ssl;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (opts.ca_file) {
    ctx.load_verify_file(opts.ca_file->string(), ec);
    if (ec) {
      throw tls_error("cannot load the CA file " + opts.ca_file->string() + ": " + ec.message());
    }
  }  // else the system store, loaded on first use (asio_backend::impl::tls_context)
  if (opts.client_cert_file) {
    ctx.use_certificate_chain_file(opts.client_cert_file->string(), ec);
    if (ec) {
      throw tls_error("cannot load the client certificate " + opts.client_cert_file->string() +
                      ": " + ec.message());
    }
    auto key = opts.client_key_file.value_or(*opts.client_cert_file);
    ctx.use_private_key_file(key.string(), ssl::context::pem, ec);
    if (ec) throw tls_error("cannot load the client key " + key.string() + ": " + ec.message());
  }
}
}  // namespace

asio_backend::impl::impl(asio_backend_options opts)
    : options(std::move(opts)),
      pool(options.max_connections_per_origin, options.idle_timeout),
      h2(options.idle_timeout) {
  if (options.tls.ca_file || options.tls.client_cert_file) make_tls_context();
}

asio_backend::impl::~impl() = default;

void asio_backend::impl::make_tls_context() {
  tls.emplace(asio_detail::net::ssl::context::tls_client);
  configure_tls(*tls, options.tls);
}

asio_detail::net::ssl::context& asio_backend::impl::tls_context() {
  std::call_once(tls_ready, [this] {  // a throw leaves it to be tried again by the next call
    if (!tls) make_tls_context();
    if (options.tls.ca_file) return;
    boost::system::error_code ec;
    tls->set_default_verify_paths(ec);
    if (ec) throw tls_error("cannot load the system CA store: " + ec.message());
  });
  return *tls;
}

COURIER_HOT bool asio_backend::impl::on_io_thread() const noexcept {
  auto me = std::this_thread::get_id();
  for (auto id : thread_ids) {
    if (id == me) return true;
  }
  return false;
}

COURIER_HOT void asio_backend::impl::check_blocking_allowed(const char* what) const {
  if (stopped) {
    throw operation_aborted(std::string(what) + ": the asio_backend it belongs to was destroyed");
  }
  if (on_io_thread()) {
    throw invalid_request(std::string(what) +
                          " was called on one of the backend's own I/O threads, where it would "
                          "wait on itself; use the async_ form there");
  }
}

void asio_backend::impl::track(const std::shared_ptr<asio_detail::ws_session>& s) {
  std::lock_guard lock(sessions_mutex);
  std::erase_if(sessions, [](const auto& w) { return w.expired(); });
  sessions.push_back(s);
}

asio_backend::asio_backend(asio_backend_options options)
    : impl_(std::make_shared<impl>(std::move(options))) {
  unsigned n = impl_->options.threads == 0 ? 1 : impl_->options.threads;
  // The work guard keeps run() going while idle; it lives until the io_context is stopped.
  auto work = std::make_shared<
      asio_detail::net::executor_work_guard<asio_detail::net::io_context::executor_type>>(
      impl_->ioc.get_executor());
  for (unsigned i = 0; i < n; ++i) {
    impl_->threads.emplace_back([impl = impl_.get(), work] { impl->ioc.run(); });
    impl_->thread_ids.push_back(impl_->threads.back().get_id());
  }
}

asio_backend::~asio_backend() {
  impl_->stopped = true;
  // Fail every open WebSocket while the I/O threads still run, so that no receiver waits on a
  // backend that is gone; give them a moment to deliver that.
  std::vector<std::shared_ptr<asio_detail::ws_session>> live;
  {
    std::lock_guard lock(impl_->sessions_mutex);
    for (auto& w : impl_->sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  if (!live.empty()) {
    auto left = std::make_shared<std::atomic<std::size_t>>(live.size());
    auto all_done = std::make_shared<std::promise<void>>();
    auto done = all_done->get_future();
    for (auto& s : live) {
      asio_detail::net::dispatch(s->strand(), [s, left, all_done] {
        s->fail(ws::close_code::going_away, "client shutting down",
                std::make_exception_ptr(
                    operation_aborted("the asio_backend of this WebSocket was destroyed")));
        if (--*left == 0) all_done->set_value();
      });
    }
    done.wait_for(std::chrono::seconds(1));
  }
  // HTTP/2 streams wait on their connections, not on the I/O threads: fail them all, and let
  // the requests woken on the I/O threads take the failure to their handlers before the
  // threads stop (a moment at most).
  const auto woken = impl_->h2.fail_all("the asio_backend of this request was destroyed");
  const auto settle_until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < settle_until &&
         std::any_of(woken.begin(), woken.end(), [](const auto& w) { return !w.expired(); })) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Connections being opened wait on the I/O threads: cancel them (again until each has seen
  // it: one may be between two steps) and let their requests fail before the threads stop.
  // On a loaded machine an I/O thread may not run for a while: the cancellation is waited for
  // (within a bound) rather than given up on, which would stop the threads under a request
  // that then never ends.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int round = 0; round < 20; ++round) {
    auto counted = std::make_shared<std::promise<std::size_t>>();
    auto left = counted->get_future();
    asio_detail::net::post(impl_->ioc, [impl = impl_.get(), counted] {
      counted->set_value(impl->cancel_connecting());
    });
    if (left.wait_until(give_up) != std::future_status::ready || left.get() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->pool.clear();
}

const asio_backend_options& asio_backend::options() const noexcept {
  return impl_->options;
}

boost::asio::any_io_executor asio_backend::get_executor() const noexcept {
  return impl_->ioc.get_executor();
}

COURIER_HOT raw_response asio_backend::send_raw(const request_data& req,
                                                const body_destination& dest) {
  impl_->check_blocking_allowed("asio_backend::send()");
  // The call runs on this thread and may outlast the backend (destroyed on another thread,
  // which fails it): the backend's state stays until the call is over.
  const auto keep = impl_;
  return asio_detail::run_http_exchange_here(*keep, req, dest);
}

bool detail::runs_in_this_thread(const boost::asio::any_io_executor& ex) noexcept {
  const auto* io = ex.target<asio_detail::net::io_context::executor_type>();
  return io && io->running_in_this_thread();
}

namespace {
// The io_context a handler will run on, when it names one (a coroutine's executor does).
std::optional<asio_detail::net::io_context::executor_type> handler_context(
    const detail::raw_handler& handler) {
  using io_executor = asio_detail::net::io_context::executor_type;
  auto ex = asio_detail::net::get_associated_executor(handler);
  if (const auto* io = ex.target<io_executor>()) return *io;
  if (const auto* any = ex.target<asio_detail::net::any_io_executor>()) {
    if (const auto* io = any->target<io_executor>()) return *io;
  }
  return std::nullopt;
}
}  // namespace

void asio_backend::async_send_raw(const request_data& req, const body_destination& dest,
                                  raw_handler handler) {
  // A handler bound to an io_context (a coroutine's) gets the exchange run on that context.
  const auto caller = handler_context(handler);
  const auto cancel = handler.get_cancellation_slot();
  asio_detail::start_http_exchange(*impl_, req, dest, std::move(handler),
                                   caller ? &*caller : nullptr, cancel);
}

}  // namespace courier
