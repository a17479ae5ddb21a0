#include "core/quoted_input.hpp"

namespace courier::detail {

std::string escaped_input(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string quoted_input(std::string_view text, std::size_t max) {
  std::string out = "\"" + escaped_input(text.substr(0, max)) + "\"";
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace courier::detail
