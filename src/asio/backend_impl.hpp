// The state behind courier::asio_backend: the I/O threads, the TLS context and the pool.
#pragma once

#include <courier/asio_backend.hpp>

#include "asio/connection/connection_pool.hpp"
#include "asio/connection/transport.hpp"
#include "asio/http2/h2_connection.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace courier {

namespace asio_detail {
class ws_session;
class time_source;
}  // namespace asio_detail

struct asio_backend::impl : std::enable_shared_from_this<asio_backend::impl> {
  explicit impl(asio_backend_options opts);
  ~impl();

  /// Opens a transport to `u`'s origin through the proxy that the request's options (or else
  /// the backend's) choose for it, from the pool when one is idle for the same proxy and
  /// origin. `can_resend`: the request can go again on a fresh connection if a pooled one
  /// turns out to be closed (see connection_pool::acquire). (src/asio/proxy_connect.cpp)
  asio_detail::net::awaitable<std::unique_ptr<asio_detail::transport>> connect(
      const courier::uri& u, const request_options& ro, asio_detail::clock::time_point until,
      bool can_resend = false, bool offer_h2 = false);
  /// The idle pooled connection connect() would hand out first, or nullptr: the keep-alive
  /// case without a coroutine frame. (src/asio/proxy_connect.cpp)
  std::unique_ptr<asio_detail::transport> take_idle(const courier::uri& u,
                                                    const request_options& ro, bool can_resend);
  std::unique_ptr<asio_detail::transport> take_idle_via(const courier::uri& u,
                                                        const proxy_settings& s, bool can_resend);
  /// A connection of its own (never pooled) for a WebSocket: through the chosen proxy, with a
  /// CONNECT tunnel even for ws://.
  asio_detail::net::awaitable<std::unique_ptr<asio_detail::transport>> connect_unpooled(
      asio_detail::net::any_io_executor ex, const courier::uri& u, const request_options& ro,
      asio_detail::clock::time_point until);
  /// Connects `t` (transport::connect) while registered as connecting: destroying the backend
  /// cancels it, and it then throws operation_aborted instead of waiting for its deadline on
  /// I/O threads that are stopping. Every new connection goes through here.
  asio_detail::net::awaitable<void> connect_transport(asio_detail::transport& t,
                                                      const courier::uri& u,
                                                      asio_detail::clock::time_point until);
  /// Cancels every connection being opened (on an I/O thread); returns how many there are.
  std::size_t cancel_connecting();
  /// The pool key of `u`'s origin when no proxy settings apply (then it is the origin, for
  /// HTTP/1.1 and HTTP/2 alike), else nullptr. It is the thread's last one, kept for the next
  /// request to the same origin: valid until this thread's next call.
  const std::string* direct_pool_key(const courier::uri& u, const request_options& ro) const;
  /// The proxy for `u`: the request's settings when it has its own, else the backend's.
  std::optional<proxy> proxy_for(const courier::uri& u, const request_options& ro) const;
  /// Throws proxy_error when a forwarded plain-http request got the proxy's 407.
  void check_forwarded_answer(const courier::uri& u, const request_options& ro,
                              const response_head& head, std::string_view body) const;

  /// True on one of this backend's I/O threads.
  bool on_io_thread() const noexcept;
  /// Throws if a blocking call may not wait here: on an I/O thread (it would wait on itself)
  /// or after the backend was destroyed (nothing would ever answer).
  void check_blocking_allowed(const char* what) const;
  /// Remembers an open WebSocket so that destroying the backend can close it.
  void track(const std::shared_ptr<asio_detail::ws_session>& s);

  asio_backend_options options;
  asio_detail::net::io_context ioc;
  /// The TLS context, made with the system CA store on first use: OpenSSL's setup and the
  /// store take milliseconds, which a backend that never speaks TLS should not pay. Made in
  /// the constructor instead when the options name certificate files, so that a bad one fails
  /// there.
  asio_detail::net::ssl::context& tls_context();
  void make_tls_context();
  std::optional<asio_detail::net::ssl::context> tls;
  std::once_flag tls_ready;
  asio_detail::connection_pool pool;
  /// The HTTP/2 connections, shared by every request to their origin (src/asio/h2_exchange.cpp).
  asio_detail::h2_pool h2;
  /// What each origin's server chose with ALPN when offered h2 and http/1.1
  /// (http_version::any on https://), per HTTP/1.1 pool key: an origin known to speak HTTP/1.1
  /// is not offered h2 again, one known to speak h2 goes straight to its HTTP/2 connection.
  enum class origin_protocol { unknown, http1_1, http2 };
  origin_protocol known_protocol(const std::string& key) {
    std::lock_guard lock(protocols_mutex);
    auto it = protocols.find(key);
    return it == protocols.end() ? origin_protocol::unknown : it->second;
  }
  void remember_protocol(const std::string& key, origin_protocol p) {
    std::lock_guard lock(protocols_mutex);
    protocols[key] = p;
  }
  std::mutex protocols_mutex;
  std::map<std::string, origin_protocol> protocols;
  std::mutex connecting_mutex;
  std::vector<asio_detail::transport*> connecting;  // see connect_transport
  std::vector<std::thread> threads;
  std::vector<std::thread::id> thread_ids;
  std::atomic<bool> stopped{false};
  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<asio_detail::ws_session>> sessions;
  /// Where open WebSockets' timers take their time from: null (the steady clock), or a
  /// stub_backend's virtual clock.
  std::shared_ptr<asio_detail::time_source> session_time;
};

namespace asio_detail {
/// What an exchange calls once it ends. Its associated executor and slot are not used (the
/// caller passes them on its own): a plain call, on the thread the exchange ends on.
using exchange_callback = detail::raw_handler;
/// Runs one HTTP request (redirects included) and calls `done` once: on the backend's threads,
/// or, given the io_context executor the caller's handler runs on (a coroutine's), on that
/// context, with plain connections lent to its reactor so that no thread hop is needed. An
/// emission on `cancel` (terminal or partial) ends the exchange with operation_aborted and
/// closes its connection.
void start_http_exchange(asio_backend::impl& backend, request_data req, body_destination dest,
                         exchange_callback done,
                         const net::io_context::executor_type* caller = nullptr,
                         net::cancellation_slot cancel = {});
/// Runs one HTTP request on the calling thread and returns its response (the blocking send).
/// On plain connections the bytes move on this thread too; only connecting and TLS use the
/// backend's I/O threads.
raw_response run_http_exchange_here(asio_backend::impl& backend, const request_data& req,
                                    const body_destination& dest);
}  // namespace asio_detail

}  // namespace courier
