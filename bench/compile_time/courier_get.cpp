// A user's translation unit: include courier and send one GET. bench/compile_time.sh times it.
#include <courier/courier.hpp>

#include <iostream>

int main(int argc, char** argv) {
  courier::asio_backend backend;
  auto res = courier::basic_request()
                 .get(courier::uri(argc > 1 ? argv[1] : "http://127.0.0.1/"))
                 .send(backend);
  std::cout << res.status() << "\n";
}
