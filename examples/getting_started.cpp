// The smallest useful program: send a GET, print the status and the body.
// Usage: getting_started URL
#include <courier/courier.hpp>

#include <iostream>

int main(int argc, char** argv) {
  namespace cr = courier;
  cr::asio_backend backend;  // owns connections and I/O threads; share one per program
  auto response = cr::basic_request()
                      .header("Accept", "text/plain")
                      .get(cr::uri(argc > 1 ? argv[1] : "http://127.0.0.1:8080/"))
                      .send(backend);
  std::cout << response.status() << "\n";
  if (response.body()) {
    std::cout << *response.body() << "\n";  // a 2xx body
  } else {
    std::cout << "error body: " << response.body().error() << "\n";
    return 1;
  }
}
