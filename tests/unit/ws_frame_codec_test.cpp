#include "proto/ws/connection.hpp"
#include "proto/ws/frame_codec.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ws = courier::proto::ws;
using courier::ws::frame;
using courier::ws::opcode;

namespace {

std::string unmasked(const frame& f) {
  std::string out;
  ws::append_frame(out, f);
  return out;
}

std::vector<ws::event> drain(ws::connection& c) {
  std::vector<ws::event> events;
  while (auto e = c.next_event())
    events.push_back(std::move(*e));
  return events;
}

std::string bytes(std::initializer_list<unsigned> list) {
  std::string s;
  for (unsigned b : list)
    s.push_back(static_cast<char>(b));
  return s;
}

}  // namespace

TEST(WsFrameCodec, HeaderLengthEncodingsAreMinimal) {
  struct expect {
    std::uint64_t length;
    std::string header;
  };
  const std::vector<expect> cases = {
      {0, bytes({0x82, 0x00})},
      {125, bytes({0x82, 0x7d})},
      {126, bytes({0x82, 0x7e, 0x00, 0x7e})},
      {65535, bytes({0x82, 0x7e, 0xff, 0xff})},
      {65536, bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00})},
      {0x0102030405060708ull, bytes({0x82, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8})},
  };
  for (const auto& [length, header] : cases) {
    ws::frame_header h;
    h.opcode = 2;
    h.payload_length = length;
    char buf[ws::max_frame_header_size];
    const std::size_t n = ws::encode_frame_header(h, buf);
    EXPECT_EQ(std::string(buf, n), header) << length;
    EXPECT_EQ(n, ws::frame_header_size(length, false));
    const auto decoded = ws::decode_frame_header(std::string_view(buf, n));
    ASSERT_EQ(decoded.status, ws::header_decode_status::ok);
    EXPECT_EQ(decoded.size, n);
    EXPECT_EQ(decoded.header, h);
    // Every proper prefix asks for more.
    for (std::size_t cut = 0; cut < n; ++cut) {
      EXPECT_EQ(ws::decode_frame_header(std::string_view(buf, cut)).status,
                ws::header_decode_status::need_more);
    }
  }
}

TEST(WsFrameCodec, FlagsAndMaskKeyRoundTrip) {
  ws::frame_header h;
  h.fin = false;
  h.rsv1 = true;
  h.rsv3 = true;
  h.opcode = 0xb;  // reserved, but the codec does not judge
  h.masked = true;
  h.key = {0xde, 0xad, 0xbe, 0xef};
  h.payload_length = 300;
  char buf[ws::max_frame_header_size];
  const std::size_t n = ws::encode_frame_header(h, buf);
  EXPECT_EQ(std::string(buf, n), bytes({0x5b, 0xfe, 0x01, 0x2c, 0xde, 0xad, 0xbe, 0xef}));
  const auto decoded = ws::decode_frame_header(std::string_view(buf, n));
  ASSERT_EQ(decoded.status, ws::header_decode_status::ok);
  EXPECT_EQ(decoded.header, h);
}

TEST(WsFrameCodec, SixtyFourBitLengthWithTopBitIsRejected) {
  const std::string h = bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1});
  EXPECT_EQ(ws::decode_frame_header(h).status, ws::header_decode_status::length_top_bit_set);
  EXPECT_THROW(ws::decode_frame(h), courier::protocol_error);
}

TEST(WsFrameCodec, NonMinimalLengthIsAccepted) {
  const std::string f = bytes({0x81, 0x7e, 0x00, 0x02}) + "hi";
  const auto d = ws::decode_frame(f);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->payload, "hi");
  EXPECT_EQ(d->wire_size, f.size());
}

TEST(WsFrameCodec, ClientOutputIsMaskedAndTheKeyCanBeRecoveredFromTheBytes) {
  for (std::size_t len : {0u, 1u, 125u, 126u, 65535u, 65536u}) {
    ws::connection c;
    std::string payload(len, '\0');
    for (std::size_t i = 0; i < len; ++i)
      payload[i] = static_cast<char>('a' + i % 26);
    c.send(frame::binary(payload));
    std::string out;  // large payloads are a piece of their own, after the header
    c.output().for_each_piece([&](std::string_view piece) { out += piece; });
    ASSERT_EQ(out.size(), ws::frame_header_size(len, true) + len) << len;
    const auto* u = reinterpret_cast<const unsigned char*>(out.data());
    EXPECT_EQ(u[0], 0x82);
    EXPECT_EQ(u[1] & 0x80, 0x80) << "mask bit";
    // Take the key from its place in the header and unmask by hand.
    const std::size_t key_at = len <= 125 ? 2 : len <= 65535 ? 4 : 10;
    const ws::mask_key key{u[key_at], u[key_at + 1], u[key_at + 2], u[key_at + 3]};
    std::string body = out.substr(key_at + 4);
    for (std::size_t i = 0; i < body.size(); ++i) {
      body[i] = static_cast<char>(static_cast<unsigned char>(body[i]) ^ key[i % 4]);
    }
    EXPECT_EQ(body, payload) << len;
    if (len >= 16) {
      EXPECT_NE(out.substr(key_at + 4, 16), payload.substr(0, 16)) << "not masked";
    }
    c.consume_output(out.size());
    EXPECT_TRUE(c.pending_output().empty());
  }
}

TEST(WsFrameCodec, MaskKeysDifferBetweenFrames) {
  ws::connection c;
  std::vector<ws::mask_key> keys;
  for (int i = 0; i < 64; ++i)
    c.send(frame::text("x"));
  std::string_view out = c.pending_output();
  while (!out.empty()) {
    const auto f = ws::decode_frame(out);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->header.masked);
    EXPECT_EQ(f->payload, "x");
    keys.push_back(f->header.key);
    out.remove_prefix(f->wire_size);
  }
  ASSERT_EQ(keys.size(), 64u);
  std::sort(keys.begin(), keys.end());
  // 64 random 32-bit keys collide with probability ~5e-7.
  EXPECT_EQ(std::unique(keys.begin(), keys.end()), keys.end());
}

TEST(WsFrameCodec, IncomingFramesOfEveryLengthEncoding) {
  for (std::size_t len : {0u, 125u, 126u, 65535u, 65536u}) {
    ws::connection c;
    const std::string payload(len, 'z');
    c.receive_data(unmasked(frame::binary(payload)));
    auto events = drain(c);
    ASSERT_EQ(events.size(), 1u) << len;
    const auto& d = std::get<ws::data_event>(events[0]);
    EXPECT_EQ(d.message_type, opcode::binary);
    EXPECT_TRUE(d.fin);
    EXPECT_FALSE(d.is_continuation);
    EXPECT_EQ(d.payload.size(), len);
    EXPECT_EQ(d.payload, payload);
  }
}

namespace {

// A stream with every header form, fragments with controls in between, and empty frames.
std::string mixed_stream(std::size_t big) {
  std::string s;
  s += unmasked(frame::text("hello"));
  s += unmasked(frame::binary(std::string(126, 'b')));
  s += unmasked(frame::text("caf\xc3", false));
  s += unmasked(frame::ping("p1"));
  frame cont = frame::text("\xa9!", true);
  cont.op = opcode::continuation;
  s += unmasked(cont);
  s += unmasked(frame::binary(std::string()));
  s += unmasked(frame::pong(std::string(125, 'q')));
  s += unmasked(frame::binary(std::string(big, 'B')));
  s += unmasked(frame::text(""));
  s += unmasked(frame::close(1000, "done"));
  return s;
}

std::vector<ws::event> feed_in_pieces(const std::string& stream, std::vector<std::size_t> cuts) {
  ws::connection c;
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    c.receive_data(std::string_view(stream).substr(at, cut - at));
    at = cut;
  }
  c.receive_data(std::string_view(stream).substr(at));
  return drain(c);
}

}  // namespace

TEST(WsFrameCodec, EverySplitOfTheInputGivesTheSameEvents) {
  const std::string stream = mixed_stream(300);
  const auto whole = feed_in_pieces(stream, {});
  ASSERT_EQ(whole.size(), 10u);
  EXPECT_EQ(std::get<ws::data_event>(whole[0]).payload, "hello");
  EXPECT_EQ(std::get<ws::data_event>(whole[2]).payload, "caf\xc3");
  EXPECT_EQ(std::get<ws::ping_event>(whole[3]).payload, "p1");
  EXPECT_TRUE(std::get<ws::data_event>(whole[4]).is_continuation);
  EXPECT_EQ(std::get<ws::data_event>(whole[4]).message_type, opcode::text);
  EXPECT_EQ(std::get<ws::close_received>(whole[9]).close.reason, "done");
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    ASSERT_EQ(feed_in_pieces(stream, {cut}), whole) << "cut at " << cut;
  }
  // Two cuts, every pair within the first 40 bytes (headers cut twice).
  for (std::size_t a = 0; a < 40; ++a) {
    for (std::size_t b = a; b < 40; ++b)
      ASSERT_EQ(feed_in_pieces(stream, {a, b}), whole);
  }
}

TEST(WsFrameCodec, ByteByByteFeedingGivesTheSameEvents) {
  const std::string stream = mixed_stream(65536);
  const auto whole = feed_in_pieces(stream, {});
  ws::connection c;
  for (char b : stream)
    c.receive_data(std::string_view(&b, 1));
  EXPECT_EQ(drain(c), whole);
}

TEST(WsFrameCodec, AppendAndDecodeFrameRoundTripInBothRoles) {
  frame f = frame::binary(std::string("\x00\x01\x02payload", 10), false);
  f.rsv1 = true;
  for (bool masked : {false, true}) {
    std::string wire;
    ws::append_frame(wire, f, masked ? std::optional<ws::mask_key>({9, 8, 7, 6}) : std::nullopt);
    wire += "trailing";
    const auto d = ws::decode_frame(wire);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->header.masked, masked);
    EXPECT_FALSE(d->header.fin);
    EXPECT_TRUE(d->header.rsv1);
    EXPECT_EQ(d->header.opcode, 2);
    EXPECT_EQ(d->payload, f.payload);
    EXPECT_EQ(wire.substr(d->wire_size), "trailing");
    EXPECT_FALSE(ws::decode_frame(std::string_view(wire).substr(0, d->wire_size - 1)));
  }
}
