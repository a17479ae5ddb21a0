// Builds against the installed headers and library only: constructs a request and prints its
// uri (no network needed). Exits non-zero if the uri did not survive the round trip.
#include <courier/courier.hpp>

#include <iostream>
#include <string_view>

int main() {
  constexpr std::string_view expected = "http://127.0.0.1:1/";
  const auto request = courier::basic_request().get(courier::uri{expected});
  const auto uri = request.uri();
  if (!uri) {
    std::cerr << "the request has no uri\n";
    return 1;
  }
  std::cout << uri->str() << "\n";
  if (uri->str() != expected) {
    std::cerr << "expected " << expected << "\n";
    return 1;
  }
  return 0;
}
