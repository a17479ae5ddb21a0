// Connecting through the proxy a request's settings choose: which proxy, the pool key, and the
// proxy's 407 to a forwarded request.
#include "asio/backend_impl.hpp"
#include "core/hot_path.hpp"

#include <courier/error.hpp>

namespace courier {

COURIER_HOT std::optional<proxy> asio_backend::impl::proxy_for(const courier::uri& u,
                                                               const request_options& ro) const {
  const proxy_settings& s = ro.proxy ? *ro.proxy : options.proxy;
  if (s.empty()) return std::nullopt;
  return s.select(u);
}

namespace {
std::unique_ptr<asio_detail::transport> make_transport(asio_detail::net::any_io_executor ex,
                                                       const courier::uri& u,
                                                       std::optional<proxy> via,
                                                       bool tunnel_plain) {
  auto t = std::make_unique<asio_detail::transport>(std::move(ex), u.origin(),
                                                    std::string(u.host()), u.port());
  if (via) t->use_proxy(std::move(*via), tunnel_plain);
  return t;
}
}  // namespace

asio_detail::net::awaitable<std::unique_ptr<asio_detail::transport>> asio_backend::impl::connect(
    const courier::uri& u, const request_options& ro, asio_detail::clock::time_point until,
    bool can_resend, bool offer_h2) {
  auto via = proxy_for(u, ro);
  const std::string key = asio_detail::transport::make_pool_key(u.origin(), via, false);
  auto t = co_await pool.acquire(key, until, can_resend);
  if (t) co_return t;
  try {
    auto fresh = make_transport(ioc.get_executor(), u, std::move(via), false);
    if (offer_h2) fresh->offer_alpn(std::string("\x02h2\x08http/1.1", 12));
    co_await connect_transport(*fresh, u, until);
    co_return fresh;
  } catch (...) {
    pool.give_back_slot(key);
    throw;
  }
}

namespace {
// Without a proxy the pool key is the origin. A keep-alive loop asks for the same one each
// time, so each thread keeps the last one it built rather than allocating it per request.
struct last_origin {
  std::string scheme, host, key;
  std::uint16_t port = 0;

  bool is(const courier::uri& u) const noexcept {
    return !key.empty() && port == u.port() && host == u.host() && scheme == u.scheme();
  }
  COURIER_COLD void remember(const courier::uri& u) {
    key = u.origin();
    scheme = u.scheme();
    host = u.host();
    port = u.port();
  }
};
}  // namespace

// take_idle when proxy settings apply (the one chosen for `u` may be none: NO_PROXY).
COURIER_COLD std::unique_ptr<asio_detail::transport> asio_backend::impl::take_idle_via(
    const courier::uri& u, const proxy_settings& s, bool can_resend) {
  return pool.take_idle(asio_detail::transport::make_pool_key(u.origin(), s.select(u), false),
                        can_resend);
}

COURIER_HOT const std::string* asio_backend::impl::direct_pool_key(
    const courier::uri& u, const request_options& ro) const {
  const proxy_settings& s = ro.proxy ? *ro.proxy : options.proxy;
  if (!s.empty()) return nullptr;
  thread_local last_origin last;
  if (!last.is(u)) last.remember(u);
  return &last.key;
}

COURIER_HOT std::unique_ptr<asio_detail::transport> asio_backend::impl::take_idle(
    const courier::uri& u, const request_options& ro, bool can_resend) {
  if (const std::string* key = direct_pool_key(u, ro)) return pool.take_idle(*key, can_resend);
  return take_idle_via(u, ro.proxy ? *ro.proxy : options.proxy, can_resend);
}

asio_detail::net::awaitable<std::unique_ptr<asio_detail::transport>>
asio_backend::impl::connect_unpooled(asio_detail::net::any_io_executor ex, const courier::uri& u,
                                     const request_options& ro,
                                     asio_detail::clock::time_point until) {
  auto t = make_transport(std::move(ex), u, proxy_for(u, ro), true);
  co_await connect_transport(*t, u, until);
  co_return t;
}

asio_detail::net::awaitable<void> asio_backend::impl::connect_transport(
    asio_detail::transport& t, const courier::uri& u, asio_detail::clock::time_point until) {
  struct registration {
    impl& backend;
    asio_detail::transport* t;
    registration(impl& b, asio_detail::transport* tr) : backend(b), t(tr) {
      std::lock_guard lock(backend.connecting_mutex);
      backend.connecting.push_back(t);
    }
    ~registration() {
      std::lock_guard lock(backend.connecting_mutex);
      std::erase(backend.connecting, t);
    }
  };
  const registration registered(*this, &t);
  if (stopped) throw operation_aborted("the asio_backend of this request was destroyed");
  std::exception_ptr failed;
  try {
    co_await t.connect(
        u.is_secure(), [this]() -> auto& { return tls_context(); },
        !options.tls.insecure_skip_verify, until);
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed && stopped) {
    throw operation_aborted(
        "the asio_backend of this request was destroyed while it connected to " +
        asio_detail::host_port(u.host(), u.port()));
  }
  if (failed) std::rethrow_exception(failed);
}

std::size_t asio_backend::impl::cancel_connecting() {
  std::lock_guard lock(connecting_mutex);
  for (auto* t : connecting)
    t->cancel();
  return connecting.size();
}

void asio_backend::impl::check_forwarded_answer(const courier::uri& u, const request_options& ro,
                                                const response_head& head,
                                                std::string_view body) const {
  if (head.status != 407 || u.is_secure()) return;
  auto via = proxy_for(u, ro);
  if (!via || via->is_socks()) return;  // only a forwarding HTTP proxy answers for the origin
  throw proxy_error(407, std::string(body.substr(0, 64 * 1024)),
                    "the proxy " + via->redacted() + " answered 407 " + head.reason + " to " +
                        u.origin() + " (the proxy credentials are " +
                        (via->has_credentials() ? "wrong" : "missing") + ")");
}

}  // namespace courier
