// libFuzzer target: the two UTF-8 engines (AVX2 and scalar) must agree on every input, fed in
// the same chunks: each feed()'s result, ok() and complete(). The first byte picks the chunk
// size, so that code points cut at chunk ends and the SIMD engine's block edges both get hit.
#include "proto/ws/utf8.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

namespace ws = courier::proto::ws;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // 1..256 bytes per chunk, or the whole input at once.
  const std::size_t chunk = data[0] == 0 ? size : data[0];
  const auto* text = reinterpret_cast<const char*>(data + 1);
  const std::size_t length = size - 1;
  ws::utf8_validator simd, scalar;
  for (std::size_t at = 0; at < length || at == 0; at += chunk) {
    const std::size_t n = std::min(chunk, length - at);
    // A copy of exactly n bytes: a read past the chunk is an ASan report.
    auto piece = std::make_unique<char[]>(n == 0 ? 1 : n);
    if (n) std::memcpy(piece.get(), text + at, n);
    const std::string_view view(piece.get(), n);
    const bool a = ws::detail::feed_utf8(simd, view, ws::detail::utf8_engine::simd);
    const bool b = ws::detail::feed_utf8(scalar, view, ws::detail::utf8_engine::scalar);
    if (a != b || simd.ok() != scalar.ok() || simd.complete() != scalar.complete()) std::abort();
    if (n == 0) break;
  }
  return 0;
}
