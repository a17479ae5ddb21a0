// Opening a WebSocket: the HTTP/1.1 upgrade and the session, over any connected byte_stream.
// The asio backend connects TCP/TLS; the stub backend hands in an in-memory pipe whose other
// end is a scripted server, so both run the same upgrade, session and protocol core.
#pragma once

#include "asio/backend_impl.hpp"
#include "asio/connection/byte_stream.hpp"

#include <courier/asio_backend.hpp>
#include <courier/request.hpp>
#include <courier/ws/handler.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>

namespace courier::asio_detail {

/// Makes the connected stream a WebSocket request runs over (before `until`), or throws a
/// courier error (connect_error, timeout_error, ...). Runs on the backend's io_context.
using stream_connector = std::function<net::awaitable<std::unique_ptr<byte_stream>>(
    const courier::uri& u, clock::time_point until)>;

/// open_websocket on `backend`'s threads, over what `connect` makes. An empty connector
/// connects TCP (and TLS for wss) as the asio backend does.
websocket_response<ws::websocket> open_websocket_over(asio_backend::impl& backend,
                                                      const request_data& req,
                                                      const ws::high_level& handler,
                                                      stream_connector connect);
websocket_response<ws::sender> open_websocket_over(asio_backend::impl& backend,
                                                   const request_data& req,
                                                   const ws::low_level& handler,
                                                   stream_connector connect);
void async_open_websocket_over(std::shared_ptr<asio_backend::impl> backend, const request_data& req,
                               const ws::high_level& handler,
                               asio_backend::ws_open_handler<ws::high_level> done,
                               stream_connector connect);
void async_open_websocket_over(std::shared_ptr<asio_backend::impl> backend, const request_data& req,
                               const ws::low_level& handler,
                               asio_backend::ws_open_handler<ws::low_level> done,
                               stream_connector connect);

}  // namespace courier::asio_detail
