// Incremental UTF-8 validation for text messages, which arrive in frames and read chunks.
#pragma once

#include <cstdint>
#include <string_view>

namespace courier::proto::ws {

class utf8_validator;

namespace detail {
/// The two implementations behind utf8_validator::feed(); tests pin each one to compare them.
enum class utf8_engine { scalar, simd };
/// True when this CPU runs the SIMD engine (x86-64 with AVX2); elsewhere simd means scalar.
bool utf8_simd_available() noexcept;
/// utf8_validator::feed() with the engine chosen by the caller instead of by CPU detection.
bool feed_utf8(utf8_validator& v, std::string_view chunk, utf8_engine engine) noexcept;
}  // namespace detail

/// Validates UTF-8 fed in arbitrary chunks (a code point may be split between them). Rejects
/// overlong forms, surrogates (U+D800-DFFF) and values above U+10FFFF, and fails on the first
/// byte that no valid continuation could follow (RFC 6455 8.1 lets us fail fast there).
/// Long chunks are checked with AVX2 when the CPU has it.
class utf8_validator {
 public:
  /// Checks the next chunk. Returns false as soon as the bytes seen so far cannot be the start
  /// of valid UTF-8; once false, it stays false until reset().
  bool feed(std::string_view chunk) noexcept;
  /// True when everything fed is valid and no code point is cut in the middle.
  bool complete() const noexcept { return !failed_ && remaining_ == 0; }
  /// True while no invalid byte has been seen.
  bool ok() const noexcept { return !failed_; }
  void reset() noexcept { *this = utf8_validator{}; }

 private:
  friend bool detail::feed_utf8(utf8_validator&, std::string_view, detail::utf8_engine) noexcept;

  // The byte-wise state machine; also finishes what the SIMD engine leaves at a chunk's end.
  bool feed_scalar(const unsigned char* p, const unsigned char* end) noexcept;

  // Continuation bytes still owed by the current code point, and the range the next one must
  // fall in (narrower than 80..BF right after E0, ED, F0 and F4).
  std::uint8_t remaining_ = 0;
  std::uint8_t next_low_ = 0x80;
  std::uint8_t next_high_ = 0xbf;
  bool failed_ = false;
};

/// One-shot check of a complete string.
inline bool is_valid_utf8(std::string_view s) noexcept {
  utf8_validator v;
  return v.feed(s) && v.complete();
}

}  // namespace courier::proto::ws
