#include "support/test_backends.hpp"

#include "support/test_env.hpp"

#include <openssl/ssl.h>

namespace courier::test {

courier::asio_backend& default_backend() {
  // OpenSSL loads its configuration on first use, and when that first use is on one of the
  // backend's threads (a WebSocket key, a TLS context made lazily), LeakSanitizer reports the
  // per-thread state that loading leaves behind. Loading it here, on the test's main thread,
  // keeps the sanitizer runs clean, as test_ca_backend() does by making its TLS context at once.
  static const bool openssl_ready = OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr) == 1;
  static courier::asio_backend b;
  (void)openssl_ready;
  return b;
}

courier::asio_backend_options test_ca_options(courier::http_version version) {
  courier::asio_backend_options o;
  o.tls.ca_file = env("CA_FILE");
  o.version = version;
  return o;
}

courier::asio_backend& test_ca_backend() {
  static courier::asio_backend b(test_ca_options());
  return b;
}

}  // namespace courier::test
