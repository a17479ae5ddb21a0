// Streaming with C++20 coroutines: read a body with co_await, chunk by chunk (the socket is read
// only as fast as this loop asks), and upload from a coroutine source that awaits between chunks.
// Usage: streaming_coroutine FILE_URL UPLOAD_ECHO_URL
#include <courier/body_source.hpp>
#include <courier/body_stream.hpp>
#include <courier/courier.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <vector>

namespace cr = courier;
namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<void> run(cr::asio_backend& backend, std::string file_url, std::string echo_url) {
  // Download.
  auto res = co_await cr::basic_request()
                 .get(cr::uri(file_url))
                 .response_as(cr::as_stream())
                 .async_send(backend, asio::use_awaitable);
  std::vector<char> buf(64 * 1024);
  std::uint64_t total = 0;
  while (std::size_t n = co_await res.body().async_read_some(buf, asio::use_awaitable))
    total += n;
  std::cout << "downloaded " << total << " bytes\n";

  // Upload: three chunks produced by a coroutine, 10 ms apart; sent chunked.
  int produced = 0;
  auto source = [&produced](std::span<char> out) -> asio::awaitable<std::size_t> {
    if (produced == 3) co_return 0;  // the end of the body
    asio::steady_timer pause(co_await asio::this_coro::executor, 10ms);
    co_await pause.async_wait(asio::use_awaitable);
    std::string piece = "piece " + std::to_string(++produced) + "\n";
    std::copy(piece.begin(), piece.end(), out.begin());
    co_return piece.size();
  };
  auto echoed = co_await cr::basic_request()
                    .post(cr::uri(echo_url))
                    .body(cr::body_from_async(source, std::nullopt, "text/plain"))
                    .response_as(cr::as_string())
                    .async_send(backend, asio::use_awaitable);
  std::cout << "echoed:\n" << echoed.body();
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: streaming_coroutine FILE_URL UPLOAD_ECHO_URL\n";
    return 2;
  }
  cr::asio_backend backend;
  asio::io_context io;  // the coroutine runs here; courier's I/O runs on the backend's threads
  int status = 1;
  asio::co_spawn(io, run(backend, argv[1], argv[2]), [&](std::exception_ptr e) {
    if (!e) {
      status = 0;
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "failed: " << ex.what() << "\n";
    }
  });
  io.run();
  return status;
}
