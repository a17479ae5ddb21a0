#include "proto/ws/mask.hpp"

#include <cstring>

namespace courier::proto::ws {
namespace {

// GCC and Clang both lower this vector type to SSE2 (or wider) registers on x86-64 and to
// NEON on ARM; loads and stores go through memcpy so any alignment is fine.
using word16 = std::uint64_t __attribute__((vector_size(16)));

// The key rotated so that byte 0 of the result is the key byte for the next input byte,
// repeated to fill 8 bytes. memcpy keeps the byte order identical to the data's.
std::uint64_t rotated_key_word(mask_key key, std::size_t key_offset) noexcept {
  unsigned char bytes[8];
  for (std::size_t i = 0; i < 8; ++i)
    bytes[i] = key[(key_offset + i) & 3];
  std::uint64_t word;
  std::memcpy(&word, bytes, 8);
  return word;
}

void mask_into(char* dst, const char* src, std::size_t n, mask_key key,
               std::size_t key_offset) noexcept {
  key_offset &= 3;
  std::size_t i = 0;
  if (n >= 8) {
    const std::uint64_t k64 = rotated_key_word(key, key_offset);
    if (n >= 32) {
      const word16 k128 = {k64, k64};
      for (; i + 32 <= n; i += 32) {
        word16 a, b;
        std::memcpy(&a, src + i, 16);
        std::memcpy(&b, src + i + 16, 16);
        a ^= k128;
        b ^= k128;
        std::memcpy(dst + i, &a, 16);
        std::memcpy(dst + i + 16, &b, 16);
      }
    }
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, src + i, 8);
      w ^= k64;
      std::memcpy(dst + i, &w, 8);
    }
  }
  // Every block above is a multiple of 4 bytes long, so the key phase is unchanged here.
  for (; i < n; ++i) {
    dst[i] = static_cast<char>(static_cast<unsigned char>(src[i]) ^ key[(key_offset + i) & 3]);
  }
}

}  // namespace

void apply_mask(char* data, std::size_t n, mask_key key, std::size_t key_offset) noexcept {
  mask_into(data, data, n, key, key_offset);
}

void copy_masked(char* dst, const char* src, std::size_t n, mask_key key,
                 std::size_t key_offset) noexcept {
  mask_into(dst, src, n, key, key_offset);
}

}  // namespace courier::proto::ws
