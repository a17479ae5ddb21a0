// logging_backend<B>: wraps any backend and logs one line per request and one per response
// (method, uri, status, duration), with headers and bodies on request. Sensitive header values
// are redacted. The lines go to a callback, so any logger (spdlog, your own) can take them.
#pragma once

#include <courier/detail/observing_backend.hpp>
#include <courier/error.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/ws/handler.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace courier {

/// What the logging backend writes.
struct logging_options {
  /// Log the request's and the response's headers (sensitive values redacted).
  bool headers = false;
  /// Log text bodies (request bodies held in memory; response bodies read into memory), cut
  /// at max_body_bytes.
  bool bodies = false;
  /// The most body bytes logged per body; the rest is cut.
  std::size_t max_body_bytes = 1024;
  /// Header names redacted besides Authorization, Proxy-Authorization, Cookie and Set-Cookie.
  std::vector<std::string> redact_headers{};
};

/// One event of the log, with `line` already formatted.
struct log_record {
  /// Which event a record is.
  enum class kind {
    request,   ///< about to be sent (or, for a WebSocket, opened)
    response,  ///< answered: status is set
    failure,   ///< failed: error and error_message are set
  };
  /// Which event this is.
  kind what = kind::request;
  /// True for a WebSocket open rather than an HTTP request.
  bool websocket = false;
  /// The request's method, e.g. "GET".
  std::string method;
  /// The request's full uri, query included.
  std::string uri;
  /// The response status, for responses.
  int status = 0;
  /// The response reason phrase, for responses.
  std::string reason;
  std::chrono::milliseconds duration{0};  ///< for responses and failures
  courier::headers headers;               ///< when logging_options::headers, redacted
  std::optional<std::string> body;        ///< when logging_options::bodies and text is at hand
  /// The error code, for failures.
  boost::system::error_code error;
  /// The error message, for failures.
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
class logging_backend : public detail::observing_backend<logging_backend<Backend>, Backend> {
  using base = detail::observing_backend<logging_backend<Backend>, Backend>;
  friend base;

 public:
  /// Receives each record.
  using record_sink = std::function<void(const log_record&)>;
  /// Receives each formatted line.
  using line_sink = std::function<void(std::string_view)>;

  /// Logs each request sent through `inner` to `sink` as a record.
  logging_backend(Backend& inner, record_sink sink, logging_options options = {})
      : base(inner), sink_(std::move(sink)), options_(std::move(options)) {}
  /// Each record's formatted line goes to `sink` (e.g. [&](auto l) { spdlog::info("{}", l); }).
  logging_backend(Backend& inner, line_sink sink, logging_options options = {})
      : logging_backend(inner,
                        record_sink([s = std::move(sink)](const log_record& r) { s(r.line); }),
                        std::move(options)) {}

  /// What is logged.
  const logging_options& options() const noexcept { return options_; }

 private:
  using call = detail::observed_call;

  void emit(const log_record& r) {
    if (sink_) sink_(r);
  }
  static std::chrono::steady_clock::duration since(const call& c) {
    return std::chrono::steady_clock::now() - c.start;
  }

  void on_begin(const request_data& req, const call& c) {
    emit(detail::request_record(req, c.websocket, options_));
  }
  void on_answer(const request_data& req, const call& c, const raw_response& raw,
                 const body_destination& dest) {
    const bool in_memory = std::holds_alternative<to_memory>(dest);
    emit(detail::response_record(req, false, raw.head, in_memory ? &raw.body.bytes : nullptr,
                                 since(c), options_));
  }
  template <class Value>
  void on_upgrade(const request_data& req, const call& c, const websocket_response<Value>& r) {
    emit(detail::response_record(
        req, true, response_head{r.status, r.reason, r.headers, http_version::http1_1, {}}, nullptr,
        since(c), options_));
  }
  void on_failure(const request_data& req, const call& c, std::exception_ptr e) {
    boost::system::error_code ec;
    std::string message = detail::failure_message(e, ec);
    emit(detail::failure_record(req, c.websocket, ec, std::move(message), since(c)));
  }

  record_sink sink_;
  logging_options options_;
};

}  // namespace courier
