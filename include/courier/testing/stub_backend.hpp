// courier::testing::stub_backend: a backend for your own tests. Rules say how to answer
// requests (a response, a sequence of them, one computed from the request, a delay, an error,
// or a scripted WebSocket server); every request is recorded. No network is involved.
//
//   courier::testing::stub_backend stub;
//   stub.when(courier::testing::path_is("/weather")).respond(200, R"({"temp":21})");
//   auto r = courier::basic_request().get(courier::uri("https://api.example/weather")).send(stub);
#pragma once

#include <courier/detail/send_via_raw.hpp>
#include <courier/error.hpp>
#include <courier/recording_backend.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/testing/answer.hpp>
#include <courier/testing/matcher.hpp>
#include <courier/testing/virtual_clock.hpp>
#include <courier/testing/ws_script.hpp>
#include <courier/ws/handler.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace courier::testing {

namespace detail {
struct stub_rule;
}

/// A handle to one rule of a stub: say how it answers. Every call replaces the previous
/// answer (delay() keeps it). Handles are cheap to copy and share the rule.
class rule {
 public:
  /// A handle on a rule; stub_backend::when() makes these.
  explicit rule(std::shared_ptr<detail::stub_rule> r) : rule_(std::move(r)) {}

  /// Answer with this status, body and headers.
  rule& respond(int status, std::string body = {}, courier::headers headers = {});
  /// Answer with `a` (status, body, headers, reason, delay).
  rule& respond(answer a);
  /// One answer per matching request, in order; the last one repeats once they are used up.
  rule& respond_sequence(std::vector<answer> answers);
  /// The answer computed from each request (a response or failure(...)). If `f` throws a
  /// courier::error, the request fails with it.
  rule& respond_with(std::function<answer(const request_data&)> f);
  /// Fail with this error (connect_failed, timeout, read_failed, ...).
  rule& fail(courier::errc code, std::string message = {});
  /// Fail with connect_error.
  rule& fail_connect(std::string message = {}) { return fail(errc::connect_failed, message); }
  /// Fail with timeout_error.
  rule& fail_timeout(std::string message = {}) { return fail(errc::timeout, message); }
  /// Fail with read_error.
  rule& fail_read(std::string message = {}) { return fail(errc::read_failed, message); }
  /// Wait this long before each answer (added to an answer's own delay).
  rule& delay(std::chrono::milliseconds d);
  /// Accept WebSocket upgrades and run `script` as the server. Refusing an upgrade is an
  /// ordinary answer: respond(403, "no") makes open_websocket fail with
  /// websocket_upgrade_failed holding 403 and "no".
  rule& respond_websocket(ws_script script);

  /// How many requests this rule has answered.
  std::size_t hits() const;
  /// What this rule matches, as named in unmatched_request messages.
  const std::string& description() const;

 private:
  std::shared_ptr<detail::stub_rule> rule_;
};

/// The error for a request that no rule matches. Its message names the request and the rules.
class unmatched_request : public courier::invalid_request {
 public:
  /// Made with the message that what() returns.
  using invalid_request::invalid_request;
};

/// A backend that answers from rules: the first rule (in the order when() added them) whose
/// matcher accepts the request answers it. It sends, opens WebSockets and takes completion
/// tokens exactly like asio_backend (the response_as of each request is applied to the
/// answer as it would be to a real one), and records every exchange (see recorder).
/// Thread-safe. Async answers and WebSockets run on one internal thread.
class stub_backend : public recorder {
 public:
  /// It opens WebSockets, served by ws_script.
  static constexpr bool supports_websockets = true;
  /// It does not stream response bodies: as_stream() does not compile with it.
  static constexpr bool supports_streaming = false;

  /// What async_send_raw completes: void(std::exception_ptr, raw_response).
  using raw_handler = courier::detail::raw_handler;
  /// The completion of async_open_websocket_raw for a handler type.
  template <class Handler>
  using ws_open_handler = boost::asio::any_completion_handler<void(
      std::exception_ptr, websocket_response<typename Handler::value_type>)>;

  stub_backend();
  /// A stub whose waits (answer delays, WebSocket upgrades' included, and the read timeouts
  /// they run into) pass on `clock` instead of the wall clock, and whose recorded durations
  /// are virtual. The stub keeps a share of the clock.
  explicit stub_backend(virtual_clock& clock);
  ~stub_backend();
  stub_backend(const stub_backend&) = delete;
  stub_backend& operator=(const stub_backend&) = delete;

  /// Adds a rule for the requests `m` accepts; say how it answers on the returned handle.
  rule when(matcher m);
  /// when(method_is(m) && uri_is(uri)).
  rule when(courier::method m, std::string_view uri);
  /// when(any_request()).
  rule when_any();
  /// Removes every rule (recorded exchanges are kept).
  void clear_rules();

  /// Answers `req` from the first matching rule and records the exchange; throws
  /// unmatched_request when no rule matches.
  raw_response send_raw(const request_data& req, const body_destination& dest);
  /// The same, completing `handler` on the stub's thread.
  void async_send_raw(const request_data& req, const body_destination& dest, raw_handler handler);

  /// Sends `req` to the rules and reads the answer as T; what request::send() calls.
  template <class T>
  response<T> send(const request<T>& req) {
    return courier::detail::make_response(req,
                                          send_raw(req.data(), req.response_as().destination()));
  }

  /// Completion signature: void(std::exception_ptr, response<T>).
  template <class T, class CompletionToken>
  auto async_send(const request<T>& req, CompletionToken&& token) {
    return courier::detail::async_send_via_raw(*this, req, std::forward<CompletionToken>(token));
  }

  /// Opens a buffered WebSocket on the matching rule's ws_script.
  websocket_response<ws::websocket> open_websocket(const request_data& req,
                                                   const ws::high_level& handler);
  /// Opens a WebSocket on the matching rule's ws_script, reported to the handler's listener.
  websocket_response<ws::sender> open_websocket(const request_data& req,
                                                const ws::low_level& handler);
  /// The async form of the buffered open, completing `done`.
  void async_open_websocket_raw(const request_data& req, const ws::high_level& handler,
                                ws_open_handler<ws::high_level> done);
  /// The async form of the low-level open, completing `done`.
  void async_open_websocket_raw(const request_data& req, const ws::low_level& handler,
                                ws_open_handler<ws::low_level> done);

  /// Completion signature: void(std::exception_ptr, websocket_response<T>).
  template <class Handler, class CompletionToken>
  auto async_open_websocket(const request_data& req, const Handler& handler,
                            CompletionToken&& token) {
    return courier::detail::async_open_websocket_via_raw(*this, req, handler,
                                                         std::forward<CompletionToken>(token));
  }

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace courier::testing
