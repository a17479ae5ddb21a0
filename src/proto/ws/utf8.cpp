#include "proto/ws/utf8.hpp"

#include <array>
#include <cstddef>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace courier::proto::ws {
namespace {

constexpr std::uint64_t high_bits = 0x8080808080808080ull;

// For a lead byte: how many continuation bytes follow and the range of the first one
// (Unicode 15, table 3-7). remaining = 0xff marks bytes that can never start a code point.
struct lead_rule {
  std::uint8_t remaining, low, high;
};

constexpr lead_rule rule_for(unsigned char b) noexcept {
  if (b >= 0xc2 && b <= 0xdf) return {1, 0x80, 0xbf};
  if (b == 0xe0) return {2, 0xa0, 0xbf};  // no overlong 3-byte forms
  if (b == 0xed) return {2, 0x80, 0x9f};  // no surrogates
  if (b >= 0xe1 && b <= 0xef) return {2, 0x80, 0xbf};
  if (b == 0xf0) return {3, 0x90, 0xbf};  // no overlong 4-byte forms
  if (b == 0xf4) return {3, 0x80, 0x8f};  // nothing above U+10FFFF
  if (b >= 0xf1 && b <= 0xf3) return {3, 0x80, 0xbf};
  return {0xff, 0, 0};  // 80..BF (stray continuation), C0, C1, F5..FF
}

#if defined(__x86_64__)

// The SIMD engine returns how many leading bytes it proved valid, or this when it found an error.
constexpr std::size_t simd_found_error = static_cast<std::size_t>(-1);

// AVX2 validation after Keiser & Lemire, "Validating UTF-8 in less than one instruction per
// byte" (2021), lookup method: every byte is classified together with the byte before it by
// three 16-entry tables (high nibble of the previous byte, its low nibble, high nibble of this
// byte); each bit of the result names one kind of error, and an error needs all three tables to
// agree on it. A separate check covers the third and fourth bytes of long sequences.
#define COURIER_AVX2 __attribute__((target("avx2")))

// Error kinds, one bit each. "Previous" is the byte before the one being classified.
constexpr std::uint8_t too_short = 1 << 0;   // lead followed by ASCII or another lead
constexpr std::uint8_t too_long = 1 << 1;    // ASCII followed by a continuation
constexpr std::uint8_t overlong_3 = 1 << 2;  // E0 followed by 80..9F
constexpr std::uint8_t too_large = 1 << 3;   // F4 followed by 90..BF, or F5..FF by 90..BF
constexpr std::uint8_t surrogate = 1 << 4;   // ED followed by A0..BF
constexpr std::uint8_t overlong_2 = 1 << 5;  // C0 or C1 followed by a continuation
// F0 followed by 80..8F (overlong 4-byte) and F5..FF followed by 80..8F share one bit: both
// are "an F lead whose next byte has high nibble 8", told apart by the lead's low nibble.
constexpr std::uint8_t overlong_4_or_too_large_8x = 1 << 6;
// Two continuations in a row: an error unless the second is the 3rd or 4th byte of a
// sequence, which the long-sequence check decides by flipping this bit.
constexpr std::uint8_t two_continuations = 1 << 7;
// Kinds decided by the previous byte's high nibble alone, whatever its low nibble.
constexpr std::uint8_t any_low_nibble = too_short | too_long | two_continuations;

constexpr char as_char(std::uint8_t v) {
  return static_cast<char>(v);
}

COURIER_AVX2 inline __m256i table(std::uint8_t t0, std::uint8_t t1, std::uint8_t t2,
                                  std::uint8_t t3, std::uint8_t t4, std::uint8_t t5,
                                  std::uint8_t t6, std::uint8_t t7, std::uint8_t t8,
                                  std::uint8_t t9, std::uint8_t ta, std::uint8_t tb,
                                  std::uint8_t tc, std::uint8_t td, std::uint8_t te,
                                  std::uint8_t tf) {
  // vpshufb looks up within each 128-bit lane, so both lanes hold the same 16 entries.
  return _mm256_setr_epi8(
      as_char(t0), as_char(t1), as_char(t2), as_char(t3), as_char(t4), as_char(t5), as_char(t6),
      as_char(t7), as_char(t8), as_char(t9), as_char(ta), as_char(tb), as_char(tc), as_char(td),
      as_char(te), as_char(tf), as_char(t0), as_char(t1), as_char(t2), as_char(t3), as_char(t4),
      as_char(t5), as_char(t6), as_char(t7), as_char(t8), as_char(t9), as_char(ta), as_char(tb),
      as_char(tc), as_char(td), as_char(te), as_char(tf));
}

// The bytes N positions back: the last N bytes of `prev` followed by the start of `input`.
template <int N>
COURIER_AVX2 inline __m256i bytes_back(__m256i input, __m256i prev) {
  const __m256i straddle = _mm256_permute2x128_si256(prev, input, 0x21);
  return _mm256_alignr_epi8(input, straddle, 16 - N);
}

// The tables and masks, made once per call so the compiler keeps them in registers instead of
// rebuilding them in every iteration.
struct avx2_constants {
  __m256i by_prev_high, by_prev_low, by_this_high;
  __m256i low_nibble, third_floor, fourth_floor, high_bit, open_limits;
};

COURIER_AVX2 inline avx2_constants make_avx2_constants() {
  constexpr std::uint8_t f5_up = any_low_nibble | too_large | overlong_4_or_too_large_8x;
  constexpr std::uint8_t continuation = too_long | two_continuations | overlong_2;
  avx2_constants c;
  c.by_prev_high =
      table(too_long, too_long, too_long, too_long, too_long, too_long, too_long, too_long,
            two_continuations, two_continuations, two_continuations, two_continuations,
            too_short | overlong_2, too_short, too_short | overlong_3 | surrogate,
            too_short | too_large | overlong_4_or_too_large_8x);
  c.by_prev_low =
      table(any_low_nibble | overlong_2 | overlong_3 | overlong_4_or_too_large_8x,  // C0 E0 F0
            any_low_nibble | overlong_2,                                            // C1
            any_low_nibble, any_low_nibble,
            any_low_nibble | too_large,  // F4
            f5_up, f5_up, f5_up, f5_up, f5_up, f5_up, f5_up, f5_up,
            f5_up | surrogate,  // ED
            f5_up, f5_up);
  c.by_this_high =
      table(too_short, too_short, too_short, too_short, too_short, too_short, too_short, too_short,
            continuation | overlong_3 | overlong_4_or_too_large_8x,  // 80..8F
            continuation | overlong_3 | too_large,                   // 90..9F
            continuation | surrogate | too_large,                    // A0..AF
            continuation | surrogate | too_large,                    // B0..BF
            too_short, too_short, too_short, too_short);
  c.low_nibble = _mm256_set1_epi8(0x0f);
  c.third_floor = _mm256_set1_epi8(as_char(0xe0 - 0x80));
  c.fourth_floor = _mm256_set1_epi8(as_char(0xf0 - 0x80));
  c.high_bit = _mm256_set1_epi8(as_char(0x80));
  // Saturating subtraction of these leaves a non-zero byte only where a lead sits too close to
  // the end of the vector for its sequence to fit (C0.. last, E0.. second last, F0.. third last).
  static constexpr auto open_limits = [] {
    std::array<unsigned char, 32> limits{};
    limits.fill(0xff);
    limits[29] = 0xf0 - 1;
    limits[30] = 0xe0 - 1;
    limits[31] = 0xc0 - 1;
    return limits;
  }();
  c.open_limits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(open_limits.data()));
  // GCC otherwise rebuilds the splat constants from immediates in each branch of the loop
  // (three instructions each); hiding their values makes it keep them in registers.
  __asm__("" : "+x"(c.low_nibble), "+x"(c.third_floor), "+x"(c.fourth_floor), "+x"(c.high_bit));
  return c;
}

// Error bits for a 32-byte vector that follows `prev` (zeros before the first one).
COURIER_AVX2 inline __m256i vector_errors(const avx2_constants& c, __m256i input, __m256i prev) {
  const __m256i prev1 = bytes_back<1>(input, prev);
  const __m256i prev1_high = _mm256_and_si256(_mm256_srli_epi16(prev1, 4), c.low_nibble);
  const __m256i prev1_low = _mm256_and_si256(prev1, c.low_nibble);
  const __m256i this_high = _mm256_and_si256(_mm256_srli_epi16(input, 4), c.low_nibble);
  const __m256i pair_errors =
      _mm256_and_si256(_mm256_and_si256(_mm256_shuffle_epi8(c.by_prev_high, prev1_high),
                                        _mm256_shuffle_epi8(c.by_prev_low, prev1_low)),
                       _mm256_shuffle_epi8(c.by_this_high, this_high));

  // Bytes two after an E0..FF lead or three after an F0..FF lead must be continuations: there
  // two_continuations is expected, and its absence is the error. Saturating subtraction leaves
  // the high bit set exactly for prev2 >= E0 and prev3 >= F0.
  const __m256i third = _mm256_subs_epu8(bytes_back<2>(input, prev), c.third_floor);
  const __m256i fourth = _mm256_subs_epu8(bytes_back<3>(input, prev), c.fourth_floor);
  const __m256i must_continue = _mm256_and_si256(_mm256_or_si256(third, fourth), c.high_bit);
  return _mm256_xor_si256(must_continue, pair_errors);
}

// Non-zero when the vector ends inside a sequence.
COURIER_AVX2 inline __m256i ends_inside_sequence(const avx2_constants& c, __m256i input) {
  return _mm256_subs_epu8(input, c.open_limits);
}

// Validates whole 64-byte blocks from the start of `p` (which must be at a code point boundary)
// and returns how many bytes the scalar state machine need not look at again: all the blocks,
// less a code point cut at their end.
COURIER_AVX2 std::size_t validate_avx2(const unsigned char* p, std::size_t size) noexcept {
  constexpr std::size_t block = 64;
  const avx2_constants c = make_avx2_constants();
  __m256i prev = _mm256_setzero_si256();
  __m256i prev_open = _mm256_setzero_si256();
  __m256i errors = _mm256_setzero_si256();
  const std::size_t whole = size - size % block;
  for (std::size_t i = 0; i < whole; i += block) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32));
    const bool lo_ascii = _mm256_movemask_epi8(lo) == 0;
    const bool hi_ascii = _mm256_movemask_epi8(hi) == 0;
    // An all-ASCII half needs no table lookups: it is valid unless the half before it left a
    // sequence open. Text with an accent every 64 bytes or so has one such half in most blocks.
    if (lo_ascii && hi_ascii) {
      errors = _mm256_or_si256(errors, prev_open);
      prev_open = _mm256_setzero_si256();
    } else if (lo_ascii) {
      errors = _mm256_or_si256(errors, prev_open);
      errors = _mm256_or_si256(errors, vector_errors(c, hi, lo));
      prev_open = ends_inside_sequence(c, hi);
    } else if (hi_ascii) {
      errors = _mm256_or_si256(errors, vector_errors(c, lo, prev));
      errors = _mm256_or_si256(errors, ends_inside_sequence(c, lo));
      prev_open = _mm256_setzero_si256();
    } else {
      errors = _mm256_or_si256(errors, vector_errors(c, lo, prev));
      errors = _mm256_or_si256(errors, vector_errors(c, hi, lo));
      prev_open = ends_inside_sequence(c, hi);
    }
    prev = hi;
  }
  if (!_mm256_testz_si256(errors, errors)) return simd_found_error;

  // A sequence cut at the end is a valid prefix; hand it back, from its lead, to the scalar
  // state machine, which carries it into the next chunk.
  for (std::size_t back = 1; back <= 3 && back <= whole; ++back) {
    const unsigned char c = p[whole - back];
    if (c < 0x80) break;     // ASCII: nothing is open
    if (c < 0xc0) continue;  // continuation: keep looking for the lead
    const std::size_t needs = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    return needs > back ? whole - back : whole;
  }
  return whole;
}

#undef COURIER_AVX2

bool cpu_has_avx2() noexcept {
  __builtin_cpu_init();  // needed if this first runs from another static initializer
  return __builtin_cpu_supports("avx2");
}

#endif  // __x86_64__

bool simd_available() noexcept {
#if defined(__x86_64__)
  static const bool available = cpu_has_avx2();
  return available;
#else
  return false;
#endif
}

}  // namespace

namespace detail {

bool utf8_simd_available() noexcept {
  return simd_available();
}

bool feed_utf8(utf8_validator& v, std::string_view chunk, utf8_engine engine) noexcept {
  if (v.failed_) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(chunk.data());
  const auto* const end = p + chunk.size();
#if defined(__x86_64__)
  // Below two blocks the scalar loop is as quick and SIMD setup is not worth it.
  constexpr std::ptrdiff_t simd_min = 128;
  if (engine == utf8_engine::simd && end - p >= simd_min && simd_available()) {
    // Finish a code point left open by the previous chunk, so SIMD starts at a boundary.
    while (v.remaining_ != 0 && p != end) {
      if (!v.feed_scalar(p, p + 1)) return false;
      ++p;
    }
    const std::size_t checked = validate_avx2(p, static_cast<std::size_t>(end - p));
    if (checked == simd_found_error) {
      v.failed_ = true;
      return false;
    }
    p += checked;
  }
#else
  (void)engine;
#endif
  return v.feed_scalar(p, end);
}

}  // namespace detail

bool utf8_validator::feed(std::string_view chunk) noexcept {
  return detail::feed_utf8(*this, chunk, detail::utf8_engine::simd);
}

bool utf8_validator::feed_scalar(const unsigned char* p, const unsigned char* const end) noexcept {
  if (failed_) return false;
  while (p != end) {
    if (remaining_ != 0) {
      // Inside a code point: each byte must fall in the allowed range.
      const unsigned char b = *p;
      if (b < next_low_ || b > next_high_) {
        failed_ = true;
        return false;
      }
      ++p;
      --remaining_;
      next_low_ = 0x80;
      next_high_ = 0xbf;
      continue;
    }

    // Between code points: skip ASCII 16, then 8 bytes at a time.
    while (end - p >= 16) {
      std::uint64_t a, b;
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + 8, 8);
      if (((a | b) & high_bits) != 0) break;
      p += 16;
    }
    while (end - p >= 8) {
      std::uint64_t a;
      std::memcpy(&a, p, 8);
      if ((a & high_bits) != 0) break;
      p += 8;
    }
    while (p != end && *p < 0x80)
      ++p;
    if (p == end) break;

    const lead_rule r = rule_for(*p);
    if (r.remaining == 0xff) {
      failed_ = true;
      return false;
    }
    ++p;
    // Whole 2- and 3-byte sequences in the chunk are checked in one go (the common case for
    // non-Latin text); anything cut by the chunk end goes through the byte-wise state above.
    if (r.remaining == 1 && p != end) {
      if (*p < 0x80 || *p > 0xbf) {
        failed_ = true;
        return false;
      }
      ++p;
      continue;
    }
    if (r.remaining == 2 && end - p >= 2) {
      if (p[0] < r.low || p[0] > r.high || p[1] < 0x80 || p[1] > 0xbf) {
        failed_ = true;
        return false;
      }
      p += 2;
      continue;
    }
    remaining_ = r.remaining;
    next_low_ = r.low;
    next_high_ = r.high;
  }
  return true;
}

}  // namespace courier::proto::ws
