// The result as a std::future: start several requests, then wait for each.
// Usage: async_future BASE_URL (an httpbin)
#include <courier/courier.hpp>

#include <boost/asio/use_future.hpp>

#include <future>
#include <iostream>
#include <vector>

int main(int argc, char** argv) {
  namespace cr = courier;
  const std::string base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  cr::asio_backend backend;
  std::vector<std::future<cr::response<cr::expected<std::string, std::string>>>> pending;
  for (int i = 1; i <= 3; ++i) {
    pending.push_back(cr::basic_request()
                          .get(cr::uri(base + "/anything/" + std::to_string(i)))
                          .async_send(backend, boost::asio::use_future));
  }
  for (auto& f : pending) {
    auto r = f.get();  // on failure, throws what send() would (a courier::error)
    std::cout << r.request().uri()->str() << " -> " << r.status() << "\n";
  }
}
