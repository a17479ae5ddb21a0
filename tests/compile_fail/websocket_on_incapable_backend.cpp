// Must NOT compile: a backend that does not declare supports_websockets cannot open one.
// tests/CMakeLists.txt checks that the compiler rejects it with courier's readable message.
#include <courier/courier.hpp>

struct http_only_backend {
  courier::raw_response send_raw(const courier::request_data&, const courier::body_destination&) {
    return {};
  }
};

int main() {
  http_only_backend b;
  courier::basic_request()
      .get(courier::uri("ws://127.0.0.1/"))
      .open_websocket(b, courier::ws::high_level{});
}
