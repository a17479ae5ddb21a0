// The part that logging_backend and recording_backend share: a backend that forwards every
// call to the one it wraps and tells its derived class how each call began and ended.
#pragma once

#include <courier/capabilities.hpp>
#include <courier/detail/send_via_raw.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/ws/handler.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>

#include <chrono>
#include <exception>
#include <utility>

namespace courier::detail {

/// One call (an HTTP exchange or a WebSocket upgrade) as the observer sees it.
struct observed_call {
  bool websocket = false;
  std::chrono::steady_clock::time_point start;  ///< not yet set in on_begin
};

/// CRTP base. `Derived` provides, and may keep private (with this class as a friend):
///   void on_begin(const request_data&, const observed_call&);
///   void on_answer(const request_data&, const observed_call&, const raw_response&,
///                  const body_destination&);
///   template <class V> void on_upgrade(const request_data&, const observed_call&,
///                                      const websocket_response<V>&);
///   void on_failure(const request_data&, const observed_call&, std::exception_ptr);
template <class Derived, class Backend>
class observing_backend {
 public:
  static constexpr bool supports_websockets = websocket_capable<Backend>;
  static constexpr bool supports_streaming = streaming_capable<Backend>;
  using raw_handler = detail::raw_handler;

  explicit observing_backend(Backend& inner) : inner_(inner) {}

  Backend& inner() noexcept { return inner_; }

  raw_response send_raw(const request_data& req, const body_destination& dest) {
    const observed_call c = begin(req, false);
    try {
      raw_response raw = inner_.send_raw(req, dest);
      self().on_answer(req, c, raw, dest);
      return raw;
    } catch (...) {
      self().on_failure(req, c, std::current_exception());
      throw;
    }
  }

  void async_send_raw(const request_data& req, const body_destination& dest, raw_handler handler) {
    const observed_call c = begin(req, false);
    // The wrapper passes the caller's cancellation slot (and executor) on to the inner backend.
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    auto ex = boost::asio::get_associated_executor(handler);
    inner_.async_send_raw(req, dest,
                          raw_handler(boost::asio::bind_cancellation_slot(
                              slot, boost::asio::bind_executor(
                                        ex, [this, req, c, dest, handler = std::move(handler)](
                                                std::exception_ptr e, raw_response raw) mutable {
                                          if (e) {
                                            self().on_failure(req, c, e);
                                          } else {
                                            self().on_answer(req, c, raw, dest);
                                          }
                                          std::move(handler)(e, std::move(raw));
                                        }))));
  }

  template <class T>
  response<T> send(const request<T>& req) {
    return detail::make_response(req, send_raw(req.data(), req.response_as().destination()));
  }

  /// Completion signature: void(std::exception_ptr, response<T>).
  template <class T, class CompletionToken>
  auto async_send(const request<T>& req, CompletionToken&& token) {
    return detail::async_send_via_raw(self(), req, std::forward<CompletionToken>(token));
  }

  template <class Handler>
  auto open_websocket(const request_data& req,
                      const Handler& handler) requires websocket_capable<Backend> {
    const observed_call c = begin(req, true);
    try {
      auto r = inner_.open_websocket(req, handler);
      self().on_upgrade(req, c, r);
      return r;
    } catch (...) {
      self().on_failure(req, c, std::current_exception());
      throw;
    }
  }

  /// Completion signature: void(std::exception_ptr, websocket_response<T>).
  template <class Handler, class CompletionToken>
  auto async_open_websocket(const request_data& req, const Handler& handler,
                            CompletionToken&& token) requires websocket_capable<Backend> {
    using value = typename Handler::value_type;
    using signature = void(std::exception_ptr, websocket_response<value>);
    return boost::asio::async_initiate<CompletionToken, signature>(
        [this](auto h, const request_data& r, const Handler& hd) {
          const observed_call c = begin(r, true);
          auto ex = boost::asio::get_associated_executor(h);
          auto slot = boost::asio::get_associated_cancellation_slot(h);
          inner_.async_open_websocket(
              r, hd,
              boost::asio::bind_cancellation_slot(
                  slot, boost::asio::bind_executor(
                            ex, [this, r, c, h = std::move(h)](
                                    std::exception_ptr e, websocket_response<value> wr) mutable {
                              if (e) {
                                self().on_failure(r, c, e);
                              } else {
                                self().on_upgrade(r, c, wr);
                              }
                              std::move(h)(e, std::move(wr));
                            })));
        },
        token, req, handler);
  }

 protected:
  Backend& inner_;

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  observed_call begin(const request_data& req, bool websocket) {
    observed_call c{websocket, {}};
    self().on_begin(req, c);
    c.start = std::chrono::steady_clock::now();  // the time the wrapped backend takes
    return c;
  }
};

}  // namespace courier::detail
