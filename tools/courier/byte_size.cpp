#include "byte_size.hpp"

#include "failure.hpp"

#include <charconv>
#include <limits>
#include <string>

namespace courier::cli {

std::size_t parse_size(std::string_view text) {
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || p == text.data()) {
    throw usage_error("'" + std::string(text) + "' is not a size", "write bytes, or 64K, 16M, 1G");
  }
  std::string_view suffix(p, text.data() + text.size() - p);
  std::size_t shift = 0;
  if (suffix == "K" || suffix == "k" || suffix == "KiB") {
    shift = 10;
  } else if (suffix == "M" || suffix == "m" || suffix == "MiB") {
    shift = 20;
  } else if (suffix == "G" || suffix == "g" || suffix == "GiB") {
    shift = 30;
  } else if (!suffix.empty()) {
    throw usage_error("'" + std::string(text) + "' is not a size", "write bytes, or 64K, 16M, 1G");
  }
  if (n > (std::numeric_limits<std::size_t>::max() >> shift)) {
    throw usage_error("'" + std::string(text) + "' is too large");
  }
  return n << shift;
}

}  // namespace courier::cli
