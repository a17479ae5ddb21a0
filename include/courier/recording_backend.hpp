// Recording what a backend saw: every request with its response or error, for assertions.
// recording_backend<B> wraps any backend; the stub backend records the same way by itself.
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
  explicit recorded_exchange(request_data req, bool is_websocket = false)
      : request(std::move(req)), websocket(is_websocket) {}

  request_data request;
  /// True for open_websocket (the response is then the upgrade's answer).
  bool websocket = false;
  /// The final status line and headers; nullopt when the request failed.
  std::optional<response_head> response;
  /// The body as read, when it was read into memory (not as_file / ignore).
  std::optional<std::string> body;
  /// The error code and message when the request failed.
  boost::system::error_code error;
  std::string error_message;
  std::chrono::steady_clock::duration duration{};

  bool failed() const noexcept { return static_cast<bool>(error); }
  int status() const noexcept { return response ? response->status : 0; }
};

/// A thread-safe list of recorded exchanges.
class recorder {
 public:
  void add(recorded_exchange e) {
    std::lock_guard lock(mutex_);
    exchanges_.push_back(std::move(e));
  }
  /// A copy of everything recorded so far, oldest first.
  std::vector<recorded_exchange> recorded() const {
    std::lock_guard lock(mutex_);
    return exchanges_;
  }
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
  e.response = response_head{r.status, r.reason, r.headers};
}
}  // namespace detail

/// Wraps a backend (kept by reference: it must outlive the wrapper) and records every request
/// sent through it, with its response (status, headers, and the body when read into memory) or
/// its error. Sends and opens exactly like the wrapped backend; thread-safe.
template <class Backend>
class recording_backend : public recorder {
 public:
  static constexpr bool supports_websockets = websocket_capable<Backend>;
  static constexpr bool supports_streaming = streaming_capable<Backend>;
  using raw_handler = detail::raw_handler;

  explicit recording_backend(Backend& inner) : inner_(inner) {}

  Backend& inner() noexcept { return inner_; }

  raw_response send_raw(const request_data& req, const body_destination& dest) {
    recorded_exchange e{req};
    auto start = std::chrono::steady_clock::now();
    try {
      raw_response raw = inner_.send_raw(req, dest);
      e.duration = std::chrono::steady_clock::now() - start;
      detail::record_result(e, raw, dest);
      add(std::move(e));
      return raw;
    } catch (...) {
      e.duration = std::chrono::steady_clock::now() - start;
      detail::record_failure(e, std::current_exception());
      add(std::move(e));
      throw;
    }
  }

  void async_send_raw(const request_data& req, const body_destination& dest, raw_handler handler) {
    auto start = std::chrono::steady_clock::now();
    inner_.async_send_raw(req, dest,
                          raw_handler([this, req, dest, start, handler = std::move(handler)](
                                          boost::system::error_code ec, raw_response raw) mutable {
                            recorded_exchange e{req};
                            e.duration = std::chrono::steady_clock::now() - start;
                            if (ec) {
                              e.error = ec;
                              e.error_message = ec.message();
                            } else {
                              detail::record_result(e, raw, dest);
                            }
                            add(std::move(e));
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
    recorded_exchange e{req, true};
    auto start = std::chrono::steady_clock::now();
    try {
      auto r = inner_.open_websocket(req, handler);
      e.duration = std::chrono::steady_clock::now() - start;
      detail::record_upgrade(e, r);
      add(std::move(e));
      return r;
    } catch (...) {
      e.duration = std::chrono::steady_clock::now() - start;
      detail::record_failure(e, std::current_exception());
      add(std::move(e));
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
          auto ex = boost::asio::get_associated_executor(h);
          auto start = std::chrono::steady_clock::now();
          inner_.async_open_websocket(
              r, hd,
              boost::asio::bind_executor(
                  ex, [this, r, start, h = std::move(h)](boost::system::error_code ec,
                                                         websocket_response<value> wr) mutable {
                    recorded_exchange e{r, true};
                    e.duration = std::chrono::steady_clock::now() - start;
                    if (ec) {
                      e.error = ec;
                      e.error_message = ec.message();
                    } else {
                      detail::record_upgrade(e, wr);
                    }
                    add(std::move(e));
                    std::move(h)(ec, std::move(wr));
                  }));
        },
        token, req, handler);
  }

 private:
  Backend& inner_;
};

}  // namespace courier
