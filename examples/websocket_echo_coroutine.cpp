// The seed's example as a coroutine: every step is co_awaited, nothing blocks a thread.
// Usage: websocket_echo_coroutine URL   (for example ws://127.0.0.1:8765/echo)
#include <courier/courier.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace cr = courier;
namespace asio = boost::asio;

asio::awaitable<void> echo_once(cr::asio_backend& backend, std::string url) {
  auto response = co_await cr::basic_request()
                      .get(cr::uri(url))
                      .async_open_websocket(backend, cr::ws::high_level{}, asio::use_awaitable);
  cr::ws::websocket ws = response.result;
  co_await ws.async_send_text("Hello!", asio::use_awaitable);
  std::cout << "RECEIVED: " << co_await ws.async_receive_text(asio::use_awaitable) << "\n";
  co_await ws.async_close(cr::ws::close_code::normal, "", asio::use_awaitable);
}

int main(int argc, char** argv) {
  cr::asio_backend backend;
  asio::io_context io;
  asio::co_spawn(io, echo_once(backend, argc > 1 ? argv[1] : "ws://127.0.0.1:8765/echo"),
                 [](std::exception_ptr e) {
                   if (e) std::rethrow_exception(e);
                 });
  io.run();
}
