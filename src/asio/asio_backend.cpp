#include "asio/backend_impl.hpp"

#include <courier/error.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <mutex>

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
  } else {
    ctx.set_default_verify_paths(ec);
    if (ec) throw tls_error("cannot load the system CA store: " + ec.message());
  }
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
    : options(std::move(opts)), pool(options.max_connections_per_origin, options.idle_timeout) {
  configure_tls(tls, options.tls);
}

asio_backend::impl::~impl() = default;

bool asio_backend::impl::on_io_thread() const noexcept {
  auto me = std::this_thread::get_id();
  for (auto id : thread_ids) {
    if (id == me) return true;
  }
  return false;
}

asio_detail::net::awaitable<std::unique_ptr<asio_detail::transport>> asio_backend::impl::connect(
    const courier::uri& u, asio_detail::clock::time_point until) {
  const std::string origin = u.origin();
  auto t = co_await pool.acquire(origin, until);
  if (t) co_return t;
  try {
    auto fresh = std::make_unique<asio_detail::transport>(ioc.get_executor(), origin,
                                                          std::string(u.host()), u.port());
    co_await fresh->connect(u.is_secure(), &tls, !options.tls.insecure_skip_verify, until);
    co_return fresh;
  } catch (...) {
    pool.give_back_slot(origin);
    throw;
  }
}

asio_backend::asio_backend(asio_backend_options options)
    : impl_(std::make_shared<impl>(std::move(options))) {
  unsigned n = impl_->options.threads == 0 ? 1 : impl_->options.threads;
  // The work guard keeps run() going while idle; it lives until the io_context is stopped.
  auto work = std::make_shared<asio_detail::net::executor_work_guard<
      asio_detail::net::io_context::executor_type>>(impl_->ioc.get_executor());
  for (unsigned i = 0; i < n; ++i) {
    impl_->threads.emplace_back([impl = impl_.get(), work] { impl->ioc.run(); });
    impl_->thread_ids.push_back(impl_->threads.back().get_id());
  }
}

asio_backend::~asio_backend() {
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->pool.clear();
}

const asio_backend_options& asio_backend::options() const noexcept {
  return impl_->options;
}

raw_response asio_backend::send_raw(const request_data& req, const body_destination& dest) {
  if (impl_->on_io_thread()) {
    throw invalid_request(
        "asio_backend::send() was called on one of the backend's own I/O threads, where it "
        "would wait on itself; use async_send() there");
  }
  std::promise<raw_response> promise;
  auto result = promise.get_future();
  asio_detail::start_http_exchange(*impl_, req, dest,
                                   [&promise](std::exception_ptr e, raw_response r) {
                                     if (e) {
                                       promise.set_exception(e);
                                     } else {
                                       promise.set_value(std::move(r));
                                     }
                                   });
  return result.get();
}

void asio_backend::async_send_raw(const request_data& req, const body_destination& dest,
                                  raw_handler handler) {
  auto shared = std::make_shared<raw_handler>(std::move(handler));
  asio_detail::start_http_exchange(
      *impl_, req, dest, [shared](std::exception_ptr e, raw_response r) mutable {
        auto ec = e ? asio_detail::code_of(e) : boost::system::error_code{};
        std::move (*shared)(ec, std::move(r));
      });
}

}  // namespace courier
