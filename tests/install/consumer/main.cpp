// Builds against courier's headers and library only: constructs a request and prints its uri
// (no network needed). Exits non-zero if the uri did not survive the round trip. Built with
// COURIER_CONSUMER_JSON, it also gives the request a body from <courier/json.hpp>.
#include <courier/courier.hpp>
#if COURIER_CONSUMER_JSON
#include <courier/json.hpp>
#endif

#include <iostream>
#include <string_view>
#include <variant>

int main() {
  constexpr std::string_view expected = "http://127.0.0.1:1/";
  auto request = courier::basic_request().get(courier::uri{expected});
#if COURIER_CONSUMER_JSON
  request = request.with_body(courier::json_body({{"ok", true}}));
  const auto* json = std::get_if<courier::bytes_body>(&request.body());
  if (json == nullptr || json->data != R"({"ok":true})" ||
      json->content_type != "application/json") {
    std::cerr << "json_body did not make an application/json body\n";
    return 1;
  }
#endif
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
