#include <courier/ws/frame.hpp>

#include <gtest/gtest.h>

#include <array>

using courier::ws::frame;
using courier::ws::opcode;
namespace close_code = courier::ws::close_code;

TEST(WsFrame, NamedConstructorsSetOpcodeFinAndPayload) {
  EXPECT_EQ(frame::text("hi").op, opcode::text);
  EXPECT_TRUE(frame::text("hi").fin);
  EXPECT_FALSE(frame::text("hi", false).fin);
  EXPECT_EQ(frame::text("hi").payload, "hi");

  const std::array<std::byte, 3> raw{std::byte{0}, std::byte{0xff}, std::byte{7}};
  const frame b = frame::binary(std::span<const std::byte>(raw), false);
  EXPECT_EQ(b.op, opcode::binary);
  EXPECT_FALSE(b.fin);
  EXPECT_EQ(b.payload, std::string("\x00\xff\x07", 3));
  ASSERT_EQ(b.bytes().size(), 3u);
  EXPECT_EQ(b.bytes()[1], std::byte{0xff});
  EXPECT_EQ(frame::binary(std::string("ab")).payload, "ab");

  EXPECT_EQ(frame::ping("p").op, opcode::ping);
  EXPECT_EQ(frame::pong().op, opcode::pong);
  EXPECT_TRUE(frame::pong().payload.empty());
  EXPECT_FALSE(frame::text("x").rsv1);
}

TEST(WsFrame, ControlAndDataClassification) {
  EXPECT_TRUE(frame::ping().is_control());
  EXPECT_TRUE(frame::pong().is_control());
  EXPECT_TRUE(frame::close().is_control());
  EXPECT_TRUE(frame::text("").is_data());
  EXPECT_TRUE(frame::binary(std::string()).is_data());
  frame c = frame::text("x");
  c.op = opcode::continuation;
  EXPECT_TRUE(c.is_data());
}

TEST(WsFrame, CloseFramePayloadIsBigEndianCodeThenReason) {
  const frame f = frame::close(close_code::going_away, "bye");
  EXPECT_EQ(f.op, opcode::close);
  EXPECT_EQ(f.payload, std::string("\x03\xe9"
                                   "bye",
                                   5));
  EXPECT_EQ(f.close_code_value(), close_code::going_away);
  EXPECT_EQ(f.close_reason(), "bye");

  const frame plain = frame::close();
  EXPECT_EQ(plain.payload, std::string("\x03\xe8", 2));
  EXPECT_EQ(plain.close_code_value(), 1000);
  EXPECT_EQ(plain.close_reason(), "");

  const frame empty = frame::close(close_code::no_status, "dropped");
  EXPECT_TRUE(empty.payload.empty());
  EXPECT_FALSE(empty.close_code_value());

  EXPECT_EQ(frame::close(4999).close_code_value(), 4999);
  EXPECT_FALSE(frame::text("\x03\xe8").close_code_value());  // only close frames have codes
}

TEST(WsFrame, Equality) {
  EXPECT_EQ(frame::text("a"), frame::text("a"));
  EXPECT_NE(frame::text("a"), frame::binary(std::string("a")));
  EXPECT_NE(frame::text("a"), frame::text("a", false));
  frame r = frame::text("a");
  r.rsv1 = true;
  EXPECT_NE(r, frame::text("a"));
}

TEST(WsFrame, CloseCodeValidityFollowsRfc6455Section7_4) {
  for (std::uint32_t c = 0; c <= 0xffff; ++c) {
    const auto code = static_cast<std::uint16_t>(c);
    const bool expected =
        (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
    ASSERT_EQ(courier::ws::is_valid_close_code(code), expected) << c;
  }
  static_assert(courier::ws::is_valid_close_code(close_code::normal));
  static_assert(!courier::ws::is_valid_close_code(close_code::no_status));
  static_assert(!courier::ws::is_valid_close_code(close_code::abnormal));
  static_assert(!courier::ws::is_valid_close_code(1015));
}

TEST(WsFrame, CloseEventDefaultsToNoStatus) {
  courier::ws::close_event e;
  EXPECT_EQ(e.code, 1005);
  EXPECT_TRUE(e.reason.empty());
  EXPECT_EQ(e, (courier::ws::close_event{1005, ""}));
}
