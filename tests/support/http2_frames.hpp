// HTTP/2 frames built byte by byte (RFC 9113 4.1), for scripted servers in tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace courier::test {

/// A frame: the 9-byte header (length, type, flags, stream id) and the payload.
inline std::string http2_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                               std::string_view payload) {
  std::string f;
  const auto n = static_cast<std::uint32_t>(payload.size());
  for (int shift : {16, 8, 0})
    f += static_cast<char>((n >> shift) & 0xff);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  for (int shift : {24, 16, 8, 0})
    f += static_cast<char>((stream >> shift) & 0xff);
  f += payload;
  return f;
}

/// A 32-bit value in network order (error codes, stream ids in payloads).
inline std::string http2_u32(std::uint32_t v) {
  std::string s;
  for (int shift : {24, 16, 8, 0})
    s += static_cast<char>((v >> shift) & 0xff);
  return s;
}

}  // namespace courier::test
