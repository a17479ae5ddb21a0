#include "proto/ws/utf8.hpp"

#include <cstring>

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

}  // namespace

bool utf8_validator::feed(std::string_view chunk) noexcept {
  if (failed_) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(chunk.data());
  const auto* const end = p + chunk.size();

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
