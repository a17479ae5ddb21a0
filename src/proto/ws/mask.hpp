// Masking of client-to-server payloads (RFC 6455 5.3): XOR with a 4-byte key, a word at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace courier::proto::ws {

using mask_key = std::array<std::uint8_t, 4>;

/// XORs `n` bytes at `data` in place with `key`. Byte i uses key[(key_offset + i) % 4], so a
/// payload can be masked in pieces by passing the count of bytes already masked as key_offset.
void apply_mask(char* data, std::size_t n, mask_key key, std::size_t key_offset = 0) noexcept;

/// Writes `src` XOR `key` to `dst` in one pass (no separate copy then mask). `dst` and `src` may
/// be equal but must not otherwise overlap.
void copy_masked(char* dst, const char* src, std::size_t n, mask_key key,
                 std::size_t key_offset = 0) noexcept;

}  // namespace courier::proto::ws
