// The payloads the benchmarks send, shared by the end-to-end clients (bench/e2e) and the
// microbenchmarks (bench/micro), so that both measure the same bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bench {

/// Bytes of every value, in a pattern that does not compress to nothing.
inline std::string binary_payload(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    s[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return s;
}

/// English words with an "é" every 64 bytes, so that nearly every 64-byte block of the
/// UTF-8 validator holds one multi-byte character.
inline std::string text_payload(std::size_t size) {
  static constexpr std::string_view words = "the quick brown fox jumps over a lazy dog; ";
  std::string s;
  s.reserve(size);
  while (s.size() < size) {
    if (s.size() % 64 == 62 && s.size() + 2 <= size) {
      s += "\xc3\xa9";  // é
    } else {
      s += words[s.size() % words.size()];
    }
  }
  return s;
}

}  // namespace bench
