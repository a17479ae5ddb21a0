// Recording what a backend saw: every request with its response or error, for assertions.
// recording_backend<B> wraps any backend; the stub backend records the same way by itself.
#pragma once

#include <courier/detail/observing_backend.hpp>
#include <courier/error.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/ws/handler.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace courier {

/// One request a backend saw and how it ended.
struct recorded_exchange {
  recorded_exchange() = default;
  /// An exchange for `req`, not yet ended.
  explicit recorded_exchange(request_data req, bool is_websocket = false)
      : request(std::move(req)), websocket(is_websocket) {}

  /// The request as it was sent.
  request_data request;
  /// True for open_websocket (the response is then the upgrade's answer).
  bool websocket = false;
  /// The final status line and headers; nullopt when the request failed.
  std::optional<response_head> response;
  /// The body as read, when it was read into memory (not as_file / ignore).
  std::optional<std::string> body;
  /// The error code and message when the request failed.
  boost::system::error_code error;
  /// The error message when the request failed.
  std::string error_message;
  /// From the send to the response or the failure.
  std::chrono::steady_clock::duration duration{};

  /// True when the request failed.
  bool failed() const noexcept { return static_cast<bool>(error); }
  /// The final status, or 0 when the request failed.
  int status() const noexcept { return response ? response->status : 0; }
};

/// A thread-safe list of recorded exchanges.
class recorder {
 public:
  /// Appends `e`.
  void add(recorded_exchange e) {
    std::lock_guard lock(mutex_);
    exchanges_.push_back(std::move(e));
  }
  /// A copy of everything recorded so far, oldest first.
  std::vector<recorded_exchange> recorded() const {
    std::lock_guard lock(mutex_);
    return exchanges_;
  }
  /// How many exchanges were recorded.
  std::size_t recorded_count() const {
    std::lock_guard lock(mutex_);
    return exchanges_.size();
  }
  /// The newest exchange; throws std::out_of_range when none was recorded.
  recorded_exchange last_recorded() const {
    std::lock_guard lock(mutex_);
    if (exchanges_.empty()) throw std::out_of_range("recorder: nothing was recorded yet");
    return exchanges_.back();
  }
  /// Forgets every recorded exchange.
  void clear_recorded() {
    std::lock_guard lock(mutex_);
    exchanges_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<recorded_exchange> exchanges_;
};

namespace detail {
inline void record_result(recorded_exchange& e, const raw_response& raw,
                          const body_destination& dest) {
  e.response = raw.head;
  if (std::holds_alternative<to_memory>(dest)) e.body = raw.body.bytes;
}
inline void record_failure(recorded_exchange& e, std::exception_ptr ex) {
  try {
    std::rethrow_exception(ex);
  } catch (const courier::error& err) {
    e.error = err.code();
    e.error_message = err.what();
  } catch (const std::exception& err) {
    e.error = make_error_code(errc::protocol_error);
    e.error_message = err.what();
  }
}
template <class Value>
void record_upgrade(recorded_exchange& e, const websocket_response<Value>& r) {
  e.response = response_head{r.status, r.reason, r.headers, http_version::http1_1, {}};
}
}  // namespace detail

/// Wraps a backend (kept by reference: it must outlive the wrapper) and records every request
/// sent through it, with its response (status, headers, and the body when read into memory) or
/// its error. Sends and opens exactly like the wrapped backend; thread-safe.
template <class Backend>
class recording_backend : public recorder,
                          public detail::observing_backend<recording_backend<Backend>, Backend> {
  using base = detail::observing_backend<recording_backend<Backend>, Backend>;
  friend base;

 public:
  /// Records what `inner` sends; `inner` must outlive this backend.
  explicit recording_backend(Backend& inner) : base(inner) {}

 private:
  using call = detail::observed_call;

  static recorded_exchange started(const request_data& req, const call& c) {
    recorded_exchange e{req, c.websocket};
    e.duration = std::chrono::steady_clock::now() - c.start;
    return e;
  }

  void on_begin(const request_data&, const call&) {}
  void on_answer(const request_data& req, const call& c, const raw_response& raw,
                 const body_destination& dest) {
    recorded_exchange e = started(req, c);
    detail::record_result(e, raw, dest);
    add(std::move(e));
  }
  template <class Value>
  void on_upgrade(const request_data& req, const call& c, const websocket_response<Value>& r) {
    recorded_exchange e = started(req, c);
    detail::record_upgrade(e, r);
    add(std::move(e));
  }
  void on_failure(const request_data& req, const call& c, std::exception_ptr ex) {
    recorded_exchange e = started(req, c);
    detail::record_failure(e, ex);
    add(std::move(e));
  }
};

}  // namespace courier
