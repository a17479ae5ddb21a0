#include "support/test_backends.hpp"

#include "support/test_env.hpp"

namespace courier::test {

courier::asio_backend& default_backend() {
  static courier::asio_backend b;
  return b;
}

courier::asio_backend& test_ca_backend() {
  static courier::asio_backend b([] {
    courier::asio_backend_options o;
    o.tls.ca_file = env("CA_FILE");
    return o;
  }());
  return b;
}

}  // namespace courier::test
