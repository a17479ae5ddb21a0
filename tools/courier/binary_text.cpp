#include "binary_text.hpp"

#include <cstdint>

namespace courier::cli {

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string to_base64(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string encode_binary(std::string_view bytes, binary_format format) {
  return format == binary_format::hex ? to_hex(bytes) : to_base64(bytes);
}

std::string_view format_name(binary_format format) noexcept {
  return format == binary_format::hex ? "hex" : "base64";
}

bool looks_binary(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return true;
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra = 0;
    std::uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      min = 0x10000;
    } else {
      return true;
    }
    if (i + extra >= text.size()) return true;  // truncated sequence
    std::uint32_t cp = c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return true;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return true;
    i += extra + 1;
  }
  return false;
}

bool looks_binary_start(std::string_view start) noexcept {
  // Walk back over at most three continuation bytes to the last lead byte; drop its sequence
  // when it needs more bytes than are there.
  std::size_t lead = start.size();
  for (std::size_t back = 1; back <= 4 && back <= start.size(); ++back) {
    const auto c = static_cast<unsigned char>(start[start.size() - back]);
    if ((c & 0xC0) != 0x80) {
      lead = start.size() - back;
      break;
    }
  }
  if (lead < start.size()) {
    const auto c = static_cast<unsigned char>(start[lead]);
    const std::size_t length = (c & 0xE0) == 0xC0   ? 2
                               : (c & 0xF0) == 0xE0 ? 3
                               : (c & 0xF8) == 0xF0 ? 4
                                                    : 1;
    if (start.size() - lead < length) start = start.substr(0, lead);
  }
  return looks_binary(start);
}

}  // namespace courier::cli
