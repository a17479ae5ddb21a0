// request<T>::async_send and async_open_websocket written once over a backend's raw layer
// (async_send_raw, async_open_websocket_raw), so that every backend and wrapper takes any Asio
// completion token the same way.
#pragma once

#include <courier/error.hpp>
#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/ws/handler.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace courier::detail {

using raw_handler = boost::asio::any_completion_handler<void(std::exception_ptr, raw_response)>;

/// Whether `ex` is an io_context's executor and this thread runs that io_context (defined in
/// src/, which includes io_context).
bool runs_in_this_thread(const boost::asio::any_io_executor& ex) noexcept;

/// Calls `f` as boost::asio::dispatch(ex, f) would. On the thread that runs `ex`'s io_context
/// (a coroutine's executor) it calls `f` at once: dispatch would too, after wrapping it for
/// the type-erased executor, an allocation per call.
template <class Executor, class F>
void dispatch_to(const Executor& ex, F&& f) {
  if constexpr (std::is_same_v<Executor, boost::asio::any_io_executor>) {
    if (runs_in_this_thread(ex)) {
      std::forward<F>(f)();
      return;
    }
  }
  boost::asio::dispatch(ex, std::forward<F>(f));
}

/// Starts `backend.async_send_raw`, turns what it read into response<T> (the request's
/// response_as applied) and completes `token` on the handler's associated executor.
/// Completion signature: void(std::exception_ptr, response<T>). The handler's cancellation slot
/// reaches the backend, which says what cancelling does (asio_backend: the exchange ends with
/// operation_aborted and its connection is closed).
template <class Backend, class T, class CompletionToken>
auto async_send_via_raw(Backend& backend, const request<T>& req, CompletionToken&& token) {
  using signature = void(std::exception_ptr, response<T>);
  return boost::asio::async_initiate<CompletionToken, signature>(
      [&backend, req](auto handler) {
        // Keep the caller's executor busy until its handler runs, and run the handler there.
        // The raw handler carries that executor and the handler's cancellation slot too, so
        // that a backend may do its work there and hear of a cancellation.
        auto ex = boost::asio::get_associated_executor(handler);
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        auto work = boost::asio::make_work_guard(ex);
        auto complete = [req, handler = std::move(handler), work = std::move(work)](
                            std::exception_ptr e, raw_response raw) mutable {
          response<T> res;
          if (!e) {
            try {
              res = detail::make_response(req, std::move(raw));
            } catch (...) {
              e = std::current_exception();
            }
          }
          dispatch_to(work.get_executor(),
                      [handler = std::move(handler), e, res = std::move(res)]() mutable {
                        std::move(handler)(e, std::move(res));
                      });
          work.reset();
        };
        backend.async_send_raw(req.data(), req.response_as().destination(),
                               raw_handler(boost::asio::bind_cancellation_slot(
                                   slot, boost::asio::bind_executor(ex, std::move(complete)))));
      },
      token);
}

/// Starts `backend.async_open_websocket_raw` with any completion token.
/// Completion signature: void(std::exception_ptr, websocket_response<Handler::value_type>).
template <class Backend, class Handler, class CompletionToken>
auto async_open_websocket_via_raw(Backend& backend, const request_data& req, const Handler& handler,
                                  CompletionToken&& token) {
  using signature = void(std::exception_ptr, websocket_response<typename Handler::value_type>);
  return boost::asio::async_initiate<CompletionToken, signature>(
      [&backend](auto h, const request_data& r, const Handler& hd) {
        backend.async_open_websocket_raw(r, hd, std::move(h));
      },
      token, req, handler);
}

}  // namespace courier::detail
