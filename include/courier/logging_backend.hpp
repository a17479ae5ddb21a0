// logging_backend<B>: wraps any backend and logs one line per request and one per response
// (method, uri, status, duration), with headers and bodies on request. Sensitive header values
// are redacted. The lines go to a callback, so any logger (spdlog, your own) can take them.
#pragma once

#include <courier/capabilities.hpp>
#include <courier/detail/send_via_raw.hpp>
#include <courier/error.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/ws/handler.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier {

struct logging_options {
  /// Log the request's and the response's headers (sensitive values redacted).
  bool headers = false;
  /// Log text bodies (request bodies held in memory; response bodies read into memory), cut
  /// at max_body_bytes.
  bool bodies = false;
  std::size_t max_body_bytes = 1024;
  /// Header names redacted besides Authorization, Proxy-Authorization, Cookie and Set-Cookie.
  std::vector<std::string> redact_headers;
};

/// One event of the log, with `line` already formatted.
struct log_record {
  enum class kind {
    request,   ///< about to be sent (or, for a WebSocket, opened)
    response,  ///< answered: status is set
    failure,   ///< failed: error and error_message are set
  };
  kind what = kind::request;
  bool websocket = false;
  std::string method;
  std::string uri;
  int status = 0;
  std::string reason;
  std::chrono::milliseconds duration{0};  ///< for responses and failures
  courier::headers headers;               ///< when logging_options::headers, redacted
  std::optional<std::string> body;        ///< when logging_options::bodies and text is at hand
  boost::system::error_code error;
  std::string error_message;
  /// "--> GET https://a.example/x", "<-- 200 OK GET https://a.example/x (12 ms)", or
  /// "<-- FAILED GET https://a.example/x (3 ms): connect_failed: ..."; headers and body, when
  /// logged, follow on indented lines.
  std::string line;
};

namespace detail {
/// A copy of `h` with the values of sensitive headers replaced by "[REDACTED]".
courier::headers redact_headers(const courier::headers& h, const logging_options& o);
log_record request_record(const request_data& req, bool websocket, const logging_options& o);
log_record response_record(const request_data& req, bool websocket, const response_head& head,
                           const std::string* body, std::chrono::steady_clock::duration d,
                           const logging_options& o);
log_record failure_record(const request_data& req, bool websocket, boost::system::error_code ec,
                          std::string message, std::chrono::steady_clock::duration d);
std::string failure_message(std::exception_ptr e, boost::system::error_code& ec);
}  // namespace detail

/// Wraps a backend (kept by reference: it must outlive the wrapper). Sends, opens WebSockets
/// and takes completion tokens exactly as the wrapped backend does. The sink is called on the
/// thread that sends (sync) or on a backend thread (async); it must be thread-safe if the
/// backend is used from several threads.
template <class Backend>
class logging_backend {
 public:
  static constexpr bool supports_websockets = websocket_capable<Backend>;
  static constexpr bool supports_streaming = streaming_capable<Backend>;
  using raw_handler = detail::raw_handler;
  using record_sink = std::function<void(const log_record&)>;
  using line_sink = std::function<void(std::string_view)>;

  logging_backend(Backend& inner, record_sink sink, logging_options options = {})
      : inner_(inner), sink_(std::move(sink)), options_(std::move(options)) {}
  /// Each record's formatted line goes to `sink` (e.g. [&](auto l) { spdlog::info("{}", l); }).
  logging_backend(Backend& inner, line_sink sink, logging_options options = {})
      : logging_backend(inner,
                        record_sink([s = std::move(sink)](const log_record& r) { s(r.line); }),
                        std::move(options)) {}

  Backend& inner() noexcept { return inner_; }
  const logging_options& options() const noexcept { return options_; }

  raw_response send_raw(const request_data& req, const body_destination& dest) {
    emit(detail::request_record(req, false, options_));
    auto start = std::chrono::steady_clock::now();
    try {
      raw_response raw = inner_.send_raw(req, dest);
      log_response(req, raw, dest, start);
      return raw;
    } catch (...) {
      boost::system::error_code ec;
      std::string message = detail::failure_message(std::current_exception(), ec);
      emit(detail::failure_record(req, false, ec, std::move(message),
                                  std::chrono::steady_clock::now() - start));
      throw;
    }
  }

  void async_send_raw(const request_data& req, const body_destination& dest, raw_handler handler) {
    emit(detail::request_record(req, false, options_));
    auto start = std::chrono::steady_clock::now();
    inner_.async_send_raw(
        req, dest,
        raw_handler([this, req, dest, start, handler = std::move(handler)](
                        boost::system::error_code ec, raw_response raw) mutable {
          if (ec) {
            emit(detail::failure_record(req, false, ec, ec.message(),
                                        std::chrono::steady_clock::now() - start));
          } else {
            log_response(req, raw, dest, start);
          }
          std::move(handler)(ec, std::move(raw));
        }));
  }

  template <class T>
  response<T> send(const request<T>& req) {
    return detail::make_response(req, send_raw(req.data(), req.response_as().destination()));
  }

  /// Completion signature: void(boost::system::error_code, response<T>).
  template <class T, class CompletionToken>
  auto async_send(const request<T>& req, CompletionToken&& token) {
    return detail::async_send_via_raw(*this, req, std::forward<CompletionToken>(token));
  }

  template <class Handler>
  auto open_websocket(const request_data& req,
                      const Handler& handler) requires websocket_capable<Backend> {
    emit(detail::request_record(req, true, options_));
    auto start = std::chrono::steady_clock::now();
    try {
      auto r = inner_.open_websocket(req, handler);
      log_upgrade(req, r, start);
      return r;
    } catch (...) {
      boost::system::error_code ec;
      std::string message = detail::failure_message(std::current_exception(), ec);
      emit(detail::failure_record(req, true, ec, std::move(message),
                                  std::chrono::steady_clock::now() - start));
      throw;
    }
  }

  /// Completion signature: void(boost::system::error_code, websocket_response<T>).
  template <class Handler, class CompletionToken>
  auto async_open_websocket(const request_data& req, const Handler& handler,
                            CompletionToken&& token) requires websocket_capable<Backend> {
    using value = typename Handler::value_type;
    using signature = void(boost::system::error_code, websocket_response<value>);
    return boost::asio::async_initiate<CompletionToken, signature>(
        [this](auto h, const request_data& r, const Handler& hd) {
          emit(detail::request_record(r, true, options_));
          auto ex = boost::asio::get_associated_executor(h);
          auto start = std::chrono::steady_clock::now();
          inner_.async_open_websocket(
              r, hd,
              boost::asio::bind_executor(
                  ex, [this, r, start, h = std::move(h)](boost::system::error_code ec,
                                                         websocket_response<value> wr) mutable {
                    if (ec) {
                      emit(detail::failure_record(r, true, ec, ec.message(),
                                                  std::chrono::steady_clock::now() - start));
                    } else {
                      log_upgrade(r, wr, start);
                    }
                    std::move(h)(ec, std::move(wr));
                  }));
        },
        token, req, handler);
  }

 private:
  void emit(const log_record& r) {
    if (sink_) sink_(r);
  }
  void log_response(const request_data& req, const raw_response& raw, const body_destination& dest,
                    std::chrono::steady_clock::time_point start) {
    const bool in_memory = std::holds_alternative<to_memory>(dest);
    emit(detail::response_record(req, false, raw.head, in_memory ? &raw.body.bytes : nullptr,
                                 std::chrono::steady_clock::now() - start, options_));
  }
  template <class Value>
  void log_upgrade(const request_data& req, const websocket_response<Value>& r,
                   std::chrono::steady_clock::time_point start) {
    emit(detail::response_record(req, true, response_head{r.status, r.reason, r.headers}, nullptr,
                                 std::chrono::steady_clock::now() - start, options_));
  }

  Backend& inner_;
  record_sink sink_;
  logging_options options_;
};

}  // namespace courier
