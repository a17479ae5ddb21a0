#include "proto/ws/frame_codec.hpp"

#include <courier/error.hpp>

namespace courier::proto::ws {

std::size_t encode_frame_header(const frame_header& h, char* out) noexcept {
  auto* p = reinterpret_cast<unsigned char*>(out);
  p[0] = static_cast<unsigned char>((h.fin ? 0x80 : 0) | (h.rsv1 ? 0x40 : 0) | (h.rsv2 ? 0x20 : 0) |
                                    (h.rsv3 ? 0x10 : 0) | (h.opcode & 0x0f));
  const unsigned char mask_bit = h.masked ? 0x80 : 0;
  std::size_t n;
  const std::uint64_t len = h.payload_length;
  if (len <= 125) {
    p[1] = static_cast<unsigned char>(mask_bit | len);
    n = 2;
  } else if (len <= 0xffff) {
    p[1] = mask_bit | 126;
    p[2] = static_cast<unsigned char>(len >> 8);
    p[3] = static_cast<unsigned char>(len);
    n = 4;
  } else {
    p[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i)
      p[2 + i] = static_cast<unsigned char>(len >> (56 - 8 * i));
    n = 10;
  }
  if (h.masked) {
    for (std::size_t i = 0; i < 4; ++i)
      p[n + i] = h.key[i];
    n += 4;
  }
  return n;
}

header_decode_result decode_frame_header(std::string_view in) noexcept {
  header_decode_result r;
  if (in.size() < 2) return r;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  frame_header& h = r.header;
  h.fin = (p[0] & 0x80) != 0;
  h.rsv1 = (p[0] & 0x40) != 0;
  h.rsv2 = (p[0] & 0x20) != 0;
  h.rsv3 = (p[0] & 0x10) != 0;
  h.opcode = p[0] & 0x0f;
  h.masked = (p[1] & 0x80) != 0;
  const unsigned len7 = p[1] & 0x7f;
  std::size_t n = 2;
  if (len7 == 126) {
    if (in.size() < 4) return r;
    h.payload_length = (std::uint64_t{p[2]} << 8) | p[3];
    n = 4;
  } else if (len7 == 127) {
    if (in.size() < 10) return r;
    if ((p[2] & 0x80) != 0) {
      r.status = header_decode_status::length_top_bit_set;
      return r;
    }
    std::uint64_t len = 0;
    for (int i = 0; i < 8; ++i)
      len = (len << 8) | p[2 + i];
    h.payload_length = len;
    n = 10;
  } else {
    h.payload_length = len7;
  }
  if (h.masked) {
    if (in.size() < n + 4) return r;
    for (std::size_t i = 0; i < 4; ++i)
      h.key[i] = p[n + i];
    n += 4;
  }
  r.status = header_decode_status::ok;
  r.size = n;
  return r;
}

void append_frame(std::string& out, const courier::ws::frame& f, std::optional<mask_key> key) {
  frame_header h;
  h.fin = f.fin;
  h.rsv1 = f.rsv1;
  h.rsv2 = f.rsv2;
  h.rsv3 = f.rsv3;
  h.opcode = static_cast<std::uint8_t>(f.op);
  h.masked = key.has_value();
  if (key) h.key = *key;
  h.payload_length = f.payload.size();
  const std::size_t old = out.size();
  out.resize(old + frame_header_size(h.payload_length, h.masked) + f.payload.size());
  const std::size_t header = encode_frame_header(h, out.data() + old);
  if (key) {
    copy_masked(out.data() + old + header, f.payload.data(), f.payload.size(), *key);
  } else if (!f.payload.empty()) {
    out.replace(old + header, f.payload.size(), f.payload);
  }
}

std::optional<decoded_frame> decode_frame(std::string_view in) {
  const header_decode_result r = decode_frame_header(in);
  if (r.status == header_decode_status::length_top_bit_set) {
    throw courier::protocol_error("WebSocket frame length has its most significant bit set");
  }
  if (r.status == header_decode_status::need_more) return std::nullopt;
  if (r.header.payload_length > in.size() - r.size) return std::nullopt;
  const auto len = static_cast<std::size_t>(r.header.payload_length);
  decoded_frame f;
  f.header = r.header;
  f.payload.assign(in.substr(r.size, len));
  if (r.header.masked) apply_mask(f.payload.data(), len, r.header.key);
  f.wire_size = r.size + len;
  return f;
}

}  // namespace courier::proto::ws
