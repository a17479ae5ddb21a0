// The wire form of WebSocket frames (RFC 6455 5.2): header encoding and decoding for either
// role, so the client core, the stub backend (which plays a server) and tests share one codec.
#pragma once

#include "proto/ws/mask.hpp"

#include <courier/ws/frame.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace courier::proto::ws {

/// A frame header as on the wire. `opcode` is the raw 4-bit value: it may be a reserved one.
struct frame_header {
  bool fin = true;
  bool rsv1 = false, rsv2 = false, rsv3 = false;
  std::uint8_t opcode = 0;
  bool masked = false;
  mask_key key{};
  std::uint64_t payload_length = 0;

  friend bool operator==(const frame_header&, const frame_header&) = default;
};

/// 2 + 8 (64-bit length) + 4 (mask key).
inline constexpr std::size_t max_frame_header_size = 14;

/// The header's size on the wire: lengths up to 125 fit in the first 2 bytes, up to 65535 take
/// 2 more, larger ones 8 more; a mask key adds 4.
constexpr std::size_t frame_header_size(std::uint64_t payload_length, bool masked) noexcept {
  const std::size_t base = payload_length <= 125 ? 2 : payload_length <= 0xffff ? 4 : 10;
  return base + (masked ? 4 : 0);
}

/// Writes the header (minimal length encoding) to `out`, which has room for
/// max_frame_header_size bytes; returns the bytes written.
std::size_t encode_frame_header(const frame_header& h, char* out) noexcept;

enum class header_decode_status {
  ok,
  need_more,          ///< `in` ends inside the header
  length_top_bit_set  ///< a 64-bit length with the most significant bit set (RFC 6455 5.2)
};

struct header_decode_result {
  header_decode_status status = header_decode_status::need_more;
  frame_header header;
  std::size_t size = 0;  ///< header bytes used, when ok
};

/// Decodes the header at the start of `in`. Non-minimal length encodings are accepted: the
/// RFC binds senders to the minimal form but the length is unambiguous either way.
header_decode_result decode_frame_header(std::string_view in) noexcept;

/// Appends a whole frame: unmasked without a key (a server's frame), masked with one (a
/// client's). The rsv bits and fin are taken from `f`.
void append_frame(std::string& out, const courier::ws::frame& f,
                  std::optional<mask_key> key = std::nullopt);

/// A frame taken off the front of a byte stream, payload unmasked.
struct decoded_frame {
  frame_header header;
  std::string payload;
  std::size_t wire_size = 0;  ///< header + payload bytes consumed from the input
};

/// Decodes one complete frame from the front of `in`, in either role (masked frames are
/// unmasked). nullopt while the frame is incomplete. Throws courier::protocol_error for a
/// length with the top bit set. It checks nothing else: opcodes and rsv bits are returned as
/// they are.
std::optional<decoded_frame> decode_frame(std::string_view in);

}  // namespace courier::proto::ws
