// The Asio backend: HTTP/1.1 (and WebSockets) over TCP and TLS, with a keep-alive pool.
// Its implementation, and every Beast and OpenSSL header, lives in src/asio.
#pragma once

#include <courier/body_stream.hpp>
#include <courier/detail/send_via_raw.hpp>
#include <courier/error.hpp>
#include <courier/proxy.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/ws/handler.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace courier {

/// How the Asio backend checks servers and proves who it is (TLS).
struct tls_options {
  /// Verify the server's certificate chain and hostname. Turning it off exposes every request
  /// to whoever sits on the network path, hence the name.
  bool insecure_skip_verify = false;
  /// A PEM file of trusted CAs used instead of the system store.
  std::optional<std::filesystem::path> ca_file{};
  /// A client certificate and its key (PEM) for servers that ask for one.
  std::optional<std::filesystem::path> client_cert_file{};
  /// The private key (PEM) of client_cert_file.
  std::optional<std::filesystem::path> client_key_file{};
};

/// The settings of an asio_backend, fixed when it is made.
struct asio_backend_options {
  /// Certificate checks and client certificates for https:// and wss://.
  tls_options tls{};
  /// Open connections kept per origin (scheme, host, port); further requests wait for one.
  std::size_t max_connections_per_origin = 8;
  /// An idle pooled connection older than this is closed instead of reused (an HTTP/2
  /// connection: once none of its streams was open for this long).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
  /// Sent as User-Agent unless the request sets one.
  std::string user_agent = "courier/0.1";
  /// Threads running the backend's I/O.
  unsigned threads = 1;
  /// The proxies every request and WebSocket goes through, unless a request sets its own
  /// (request::proxy()). Empty: direct. See docs/proxies.md; proxy_from_environment() fills it
  /// from HTTP_PROXY and friends.
  proxy_settings proxy{};
  /// The HTTP version of requests that do not set one (request::version()); see
  /// docs/http2.md. HTTP/2 connections are shared by every request to their origin.
  http_version version = http_version::any;
};

/// Sends requests over Asio. Thread-safe: one backend may be shared by many threads; its
/// I/O runs on its own threads. Destroying it cancels what is still in flight.
class asio_backend {
 public:
  /// It opens WebSockets (request::open_websocket).
  static constexpr bool supports_websockets = true;
  /// It streams response bodies (as_stream()).
  static constexpr bool supports_streaming = true;

  /// What async_send_raw completes: void(std::exception_ptr, raw_response).
  using raw_handler = detail::raw_handler;

  /// Starts the I/O threads; nothing connects until the first request.
  explicit asio_backend(asio_backend_options options = {});
  ~asio_backend();
  asio_backend(const asio_backend&) = delete;
  asio_backend& operator=(const asio_backend&) = delete;

  /// Blocks until the response is read; throws a courier::error. The exchange runs on the
  /// calling thread (plain connections are read and written from it; connecting and TLS use
  /// the I/O threads). Must not be called from one of the backend's own I/O threads (it would
  /// wait on itself): that throws invalid_request.
  raw_response send_raw(const request_data& req, const body_destination& dest);
  /// Starts sending; `handler` is called once, on a backend thread (or the handler's executor).
  /// When the handler's executor is an io_context's (a coroutine's), the exchange runs on that
  /// context, and plain connections are lent to its reactor for it: no thread hop.
  void async_send_raw(const request_data& req, const body_destination& dest, raw_handler handler);

  /// Sends `req` and blocks until its response is read; what request::send() calls.
  template <class T>
  response<T> send(const request<T>& req) {
    return detail::make_response(req, send_raw(req.data(), req.response_as().destination()));
  }

  /// Completion signature: void(std::exception_ptr, response<T>). The handler runs on its
  /// associated executor (a coroutine resumes on its own executor, not on a backend thread).
  /// Cancellation (terminal, partial): the exchange ends with operation_aborted and its
  /// connection is closed, never pooled half-read.
  template <class T, class CompletionToken>
  auto async_send(const request<T>& req, CompletionToken&& token) {
    return detail::async_send_via_raw(*this, req, std::forward<CompletionToken>(token));
  }

  // --- WebSockets ------------------------------------------------------------------------------
  /// Opens a buffered WebSocket and blocks until the upgrade is answered; what
  /// request::open_websocket() calls.
  websocket_response<ws::websocket> open_websocket(const request_data& req,
                                                   const ws::high_level& handler);
  /// Opens a WebSocket whose events go to the handler's listener.
  websocket_response<ws::sender> open_websocket(const request_data& req,
                                                const ws::low_level& handler);

  /// The completion of async_open_websocket_raw for a handler type.
  template <class Handler>
  using ws_open_handler = boost::asio::any_completion_handler<void(
      std::exception_ptr, websocket_response<typename Handler::value_type>)>;
  /// Opens a buffered WebSocket and calls `done` with the result or the exception; the
  /// type-erased form behind request::async_open_websocket().
  void async_open_websocket_raw(const request_data& req, const ws::high_level& handler,
                                ws_open_handler<ws::high_level> done);
  /// The same for a low-level handler.
  void async_open_websocket_raw(const request_data& req, const ws::low_level& handler,
                                ws_open_handler<ws::low_level> done);

  /// Completion signature: void(std::exception_ptr, websocket_response<T>).
  template <class Handler, class CompletionToken>
  auto async_open_websocket(const request_data& req, const Handler& handler,
                            CompletionToken&& token) {
    return detail::async_open_websocket_via_raw(*this, req, handler,
                                                std::forward<CompletionToken>(token));
  }

  /// The settings this backend was made with.
  const asio_backend_options& options() const noexcept;

  /// The executor of the backend's own I/O threads. Coroutines spawned on it run on the
  /// threads that read and write the backend's connections: an HTTP/2 stream's answer then
  /// reaches its coroutine without a hand-off between threads (with one I/O thread, the
  /// default, the whole program can run on it). Blocking calls there throw invalid_request
  /// (they would wait on themselves); work still queued on it when the backend is destroyed
  /// is dropped, as a stopped io_context drops it.
  boost::asio::any_io_executor get_executor() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace courier
