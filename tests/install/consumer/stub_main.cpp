// Builds against an installed courier::testing: answers a request from a stub rule.
#include <courier/courier.hpp>
#include <courier/testing/stub_backend.hpp>

#include <iostream>

int main() {
  courier::testing::stub_backend stub;
  stub.when_any().respond(200, "stubbed");
  auto r = courier::basic_request().get(courier::uri("http://127.0.0.1:1/")).send(stub);
  std::cout << r.status() << " " << r.body().value_or("") << "\n";
  return r.status() == 200 ? 0 : 1;
}
