// HTTP/2 frames built and read byte by byte (RFC 9113 4.1), for scripted servers in tests
// (fault_server scripts that play an HTTP/2 server).
#pragma once

#include "support/fault_server.hpp"

#include <gtest/gtest.h>

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

/// Frame types and flags the scripts use.
inline constexpr std::uint8_t http2_data = 0, http2_headers = 1, http2_rst_stream = 3,
                              http2_settings = 4, http2_goaway = 7, http2_window_update = 8;
inline constexpr std::uint8_t http2_end_stream = 0x1, http2_end_headers = 0x4;

/// The 9-byte header of a frame the client sent.
struct http2_frame_head {
  std::uint8_t type = 0, flags = 0;
  std::uint32_t stream = 0;
};

/// Reads one frame from the client; its payload is dropped.
inline http2_frame_head read_http2_frame(connection& c) {
  const std::string h = c.read_exactly(9);
  const auto byte = [&](int i) { return std::uint32_t(std::uint8_t(h[i])); };
  const std::size_t len = (byte(0) << 16) | (byte(1) << 8) | byte(2);
  if (len > 0) c.read_exactly(len);
  return {std::uint8_t(byte(3)), std::uint8_t(byte(4)),
          ((byte(5) & 0x7f) << 24) | (byte(6) << 16) | (byte(7) << 8) | byte(8)};
}

/// Reads frames until the next HEADERS frame (and, with `whole_request`, the frame that ends
/// its stream); returns its stream id.
inline std::uint32_t read_http2_request(connection& c, bool whole_request = false) {
  std::uint32_t stream = 0;
  for (int i = 0; i < 100; ++i) {
    const http2_frame_head f = read_http2_frame(c);
    if (f.type == http2_headers && stream == 0) stream = f.stream;
    if (stream != 0 && (!whole_request || (f.stream == stream && (f.flags & http2_end_stream))))
      return stream;
  }
  ADD_FAILURE() << "no request in 100 frames";
  return 0;
}

/// Reads the client's preface and answers with an empty SETTINGS.
inline void read_http2_preface(connection& c) {
  EXPECT_EQ(c.read_exactly(24), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  c.write(http2_frame(http2_settings, 0, 0, ""));
}

/// HEADERS with ":status: 200" (HPACK static index 8), ending the stream.
inline std::string http2_ok_response(std::uint32_t stream) {
  return http2_frame(http2_headers, http2_end_headers | http2_end_stream, stream, "\x88");
}

}  // namespace courier::test
