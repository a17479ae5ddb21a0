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

#if defined(__x86_64__)
// 128 bytes per step in 32-byte vectors, for long payloads on CPUs with AVX2 (chosen at run
// time): a 1 MiB message is masked in about half the time of the 16-byte loop below. Returns
// how many bytes it masked (a multiple of 128, so the key phase is unchanged after it).
__attribute__((target("avx2"))) std::size_t mask_avx2(char* dst, const char* src, std::size_t n,
                                                      std::uint64_t k64) noexcept {
  using word32 = std::uint64_t __attribute__((vector_size(32)));
  const word32 k = {k64, k64, k64, k64};
  std::size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    word32 a, b, c, d;
    std::memcpy(&a, src + i, 32);
    std::memcpy(&b, src + i + 32, 32);
    std::memcpy(&c, src + i + 64, 32);
    std::memcpy(&d, src + i + 96, 32);
    a ^= k;
    b ^= k;
    c ^= k;
    d ^= k;
    std::memcpy(dst + i, &a, 32);
    std::memcpy(dst + i + 32, &b, 32);
    std::memcpy(dst + i + 64, &c, 32);
    std::memcpy(dst + i + 96, &d, 32);
  }
  return i;
}

bool cpu_has_avx2() noexcept {
  __builtin_cpu_init();  // needed if this first runs from another static initializer
  return __builtin_cpu_supports("avx2");
}
#endif

// Below this the 16-byte loop is as fast, and no dispatch is worth it.
constexpr std::size_t avx2_min = 512;

void mask_into(char* dst, const char* src, std::size_t n, mask_key key,
               std::size_t key_offset) noexcept {
  key_offset &= 3;
  std::size_t i = 0;
  if (n >= 8) {
    const std::uint64_t k64 = rotated_key_word(key, key_offset);
#if defined(__x86_64__)
    static const bool avx2 = cpu_has_avx2();
    if (n >= avx2_min && avx2) i = mask_avx2(dst, src, n, k64);
#endif
    if (n - i >= 32) {
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
