#include "proto/ws/random.hpp"

#include <courier/error.hpp>

#include <openssl/err.h>
#include <openssl/rand.h>

#include <climits>

namespace courier::proto::ws {

void fill_random(void* data, std::size_t n) {
  auto* out = static_cast<unsigned char*>(data);
  while (n > 0) {
    const int chunk = n > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(n);
    if (RAND_bytes(out, chunk) != 1) {
      const unsigned long code = ERR_get_error();
      char text[256] = "unknown error";
      if (code != 0) ERR_error_string_n(code, text, sizeof text);
      throw courier::error(make_error_code(errc::operation_aborted),
                           std::string("OpenSSL RAND_bytes failed: ") + text);
    }
    out += chunk;
    n -= static_cast<std::size_t>(chunk);
  }
}

std::string random_bytes(std::size_t n) {
  std::string s(n, '\0');
  fill_random(s.data(), n);
  return s;
}

void mask_key_source::refill() {
  fill_random(buffer_.data(), buffer_.size());
  pos_ = 0;
}

}  // namespace courier::proto::ws
