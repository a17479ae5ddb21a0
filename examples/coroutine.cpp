// C++20 coroutines: co_await a request with asio::use_awaitable.
// Usage: coroutine BASE_URL (an httpbin)
#include <courier/courier.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace cr = courier;
namespace asio = boost::asio;

asio::awaitable<void> fetch(cr::asio_backend& backend, std::string base) {
  auto r = co_await cr::basic_request()
               .get(cr::uri(base + "/uuid"))
               .async_send(backend, asio::use_awaitable);
  std::cout << r.status() << " " << *r.body();
  try {
    co_await cr::basic_request()
        .get(cr::uri("http://127.0.0.1:1/"))
        .async_send(backend, asio::use_awaitable);
  } catch (const cr::connect_error& e) {  // the same exception a blocking send throws
    std::cout << "failed as expected: " << e.what() << "\n";
  }
}

int main(int argc, char** argv) {
  cr::asio_backend backend;
  asio::io_context io;  // the coroutine runs here; courier's I/O runs on the backend's threads
  asio::co_spawn(io, fetch(backend, argc > 1 ? argv[1] : "http://127.0.0.1:8080"), asio::detached);
  io.run();
}
