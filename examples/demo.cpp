// The demo behind `make demo`: a tour of courier against the local servers the project starts.
// Usage: demo HTTPBIN_BASE_URL NGINX_BASE_URL [PROXY_URI]
#include <courier/courier.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <iostream>

namespace cr = courier;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: demo HTTPBIN_BASE_URL NGINX_BASE_URL [PROXY_URI]\n";
    return 2;
  }
  const std::string httpbin = argv[1], nginx = argv[2];
  cr::asio_backend backend;

  std::cout << "1. A GET, blocking:\n";
  auto get = cr::basic_request()
                 .header("Accept", "application/json")
                 .query("q", "c++ websockets")
                 .get(cr::uri(httpbin + "/get"));
  std::cout << "   GET " << get.uri()->str() << "\n";
  auto res = get.send(backend);
  std::cout << "   -> " << res.status() << " " << res.reason() << ", " << res.body()->size()
            << " bytes of JSON:\n"
            << *res.body() << "\n";

  std::cout << "2. A POST with a form body:\n";
  auto post = cr::basic_request()
                  .form({{"name", "courier"}, {"lang", "C++20"}})
                  .post(cr::uri(httpbin + "/post"));
  auto posted = post.send(backend);
  std::cout << "   -> " << posted.status() << "; the server saw form="
            << posted.body()->substr(posted.body()->find("\"form\""), 60) << "...\n";

  std::cout << "3. Redirects are followed and recorded:\n";
  auto redirected = cr::basic_request().get(cr::uri(httpbin + "/redirect/2")).send(backend);
  for (const auto& hop : redirected.history()) {
    std::cout << "   " << hop.head.status << " from " << hop.uri.str() << "\n";
  }
  std::cout << "   -> " << redirected.status() << " at " << redirected.uri().str() << "\n";

  std::cout << "4. A non-2xx status is the error side of the body:\n";
  auto missing = cr::basic_request().get(cr::uri(nginx + "/no-such-page")).send(backend);
  std::cout << "   -> " << missing.status() << ", body.has_value() = " << std::boolalpha
            << missing.body().has_value() << "\n";

  std::cout << "5. The same request as a std::future:\n";
  auto fut = cr::basic_request()
                 .get(cr::uri(nginx + "/small.txt"))
                 .async_send(backend, boost::asio::use_future);
  std::cout << "   -> " << fut.get().body()->size() << " bytes of small.txt\n";

  std::cout << "6. And from a coroutine:\n";
  boost::asio::io_context io;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto r = co_await cr::basic_request()
                     .get(cr::uri(httpbin + "/gzip"))
                     .async_send(backend, boost::asio::use_awaitable);
        std::cout << "   -> " << r.status() << ", gzip decoded to " << r.body()->size()
                  << " bytes\n";
      },
      boost::asio::detached);
  io.run();

  std::cout << "7. Errors are typed, and say where and why:\n";
  try {
    cr::basic_request().read_timeout(200ms).get(cr::uri(httpbin + "/delay/3")).send(backend);
  } catch (const cr::timeout_error& e) {
    std::cout << "   timeout_error: " << e.what() << "\n";
  }
  try {
    cr::basic_request().header("X-Injected", "oops\r\nEvil: 1");
  } catch (const cr::invalid_header& e) {
    std::cout << "   invalid_header: " << e.what() << "\n";
  }

  std::cout << "8. A body streamed as it arrives, with progress:\n";
  {
    std::uint64_t progress_calls = 0;
    auto res = cr::basic_request()
                   .get(cr::uri(nginx + "/large.bin"))
                   .response_as(cr::as_stream())
                   .on_progress([&](const cr::transfer_progress&) { ++progress_calls; })
                   .send(backend);
    std::uint64_t bytes = 0, chunks = 0;
    for (std::string_view chunk : res.body().chunks()) {
      bytes += chunk.size();
      ++chunks;
    }
    std::cout << "   -> " << bytes << " bytes in " << chunks << " chunks, " << progress_calls
              << " progress calls, never more than one chunk in memory\n";
  }

  if (argc > 3) {
    std::cout << "9. Through an HTTP proxy (" << cr::proxy(argv[3]).redacted() << "):\n";
    auto req = cr::basic_request().get(cr::uri(nginx + "/small.txt")).proxy(cr::proxy(argv[3]));
    std::cout << "   as curl: " << cr::to_curl(req.data()) << "\n";
    auto res = req.send(backend);
    std::cout << "   -> " << res.status() << ", " << res.body()->size() << " bytes\n";
  }
  std::cout << "Done.\n";
}
