// Must NOT compile: a backend that does not declare supports_streaming cannot hand out a
// response body to pull (as_stream()). tests/CMakeLists.txt checks that the compiler rejects it
// with courier's readable message.
#include <courier/body_stream.hpp>
#include <courier/courier.hpp>

struct buffering_only_backend {
  courier::raw_response send_raw(const courier::request_data&, const courier::body_destination&) {
    return {};
  }
  template <class T>
  courier::response<T> send(const courier::request<T>& req) {
    return courier::detail::make_response(req,
                                          send_raw(req.data(), req.response_as().destination()));
  }
};

int main() {
  buffering_only_backend b;
  auto res = courier::basic_request()
                 .get(courier::uri("http://127.0.0.1/"))
                 .response_as(courier::as_stream())
                 .send(b);
  (void)res;
}
