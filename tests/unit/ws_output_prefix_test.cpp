// A payload given away is masked as it is written (connection::output_prefix): whatever
// prefixes a writer asks for and however much of them it writes, the bytes on the wire are the
// same frames as when everything is masked up front.
#include "proto/ws/connection.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ws = courier::proto::ws;
using courier::ws::frame;

namespace {

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 7919 + seed) >> 3);
  return s;
}

// Writes the whole output as a caller's thread does: asks for a prefix of `ask` bytes, writes
// `take` of them (at most the prefix), consumes them; `ask` and `take` vary per step.
std::string write_in_steps(ws::connection& c, const std::vector<std::size_t>& asks,
                           const std::vector<std::size_t>& takes) {
  std::string wire;
  for (std::size_t step = 0; c.pending_output_size() != 0 && step < 10'000; ++step) {
    const std::size_t ask = std::min(asks[step % asks.size()], c.pending_output_size());
    const std::size_t take = std::min(takes[step % takes.size()], ask);
    std::size_t left = take;
    c.output_prefix(ask).for_each_piece([&](std::string_view piece) {
      const std::size_t k = std::min(left, piece.size());
      wire.append(piece.substr(0, k));
      left -= k;
    });
    c.consume_output(take);
  }
  EXPECT_EQ(c.pending_output_size(), 0u);
  return wire;
}

std::vector<ws::decoded_frame> decode_all(std::string_view wire) {
  std::vector<ws::decoded_frame> frames;
  while (!wire.empty()) {
    auto f = ws::decode_frame(wire);
    if (!f) {
      ADD_FAILURE() << "incomplete frame on the wire";
      break;
    }
    EXPECT_TRUE(f->header.masked);
    wire.remove_prefix(f->wire_size);
    frames.push_back(std::move(*f));
  }
  return frames;
}

}  // namespace

TEST(WsOutputPrefix, PayloadGivenAwayIsMaskedAsItIsWritten) {
  const std::string payload = pattern(3 * ws::connection::owned_payload_min + 3, 1);
  ws::connection c;
  std::string given = payload;
  const char* storage = given.data();
  c.send(frame::binary(std::move(given)));
  // Nothing of the payload is masked before a writer asks for it.
  {
    std::vector<std::string_view> pieces;
    c.output_prefix(10).for_each_piece([&](std::string_view p) { pieces.push_back(p); });
    ASSERT_EQ(pieces.size(), 2u);
    EXPECT_EQ(pieces[1].data(), storage);
    EXPECT_EQ(pieces[1].substr(100), std::string_view(payload).substr(100))
        << "bytes past the prefix are masked only when asked for";
  }
  // Odd steps: prefixes cut the payload anywhere, at every key phase, and writes take less.
  const std::string wire = write_in_steps(c, {10, 1001, 4099, 65536, 7}, {10, 999, 4099, 3, 7});
  const auto frames = decode_all(wire);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, payload);
}

TEST(WsOutputPrefix, FramesQueuedBehindTheUnmaskedPayloadAndASecondLargeOne) {
  const std::string first = pattern(ws::connection::owned_payload_min * 2, 2);
  const std::string second = pattern(ws::connection::owned_payload_min + 1, 3);
  ws::connection c;
  c.send(frame::binary(std::string(first)));
  c.send(frame::ping("between"));
  c.send(frame::binary(std::string(second)));  // while the first is unmasked: masked at once
  c.send(frame::text("after"));
  const std::string wire = write_in_steps(c, {5000, 3, 70000}, {4999, 3, 1});
  const auto frames = decode_all(wire);
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0].payload, first);
  EXPECT_EQ(frames[1].payload, "between");
  EXPECT_EQ(frames[2].payload, second);
  EXPECT_EQ(frames[3].payload, "after");
}

TEST(WsOutputPrefix, TakeOutputAndOutputMaskTheRest) {
  const std::string payload = pattern(ws::connection::owned_payload_min * 2 + 1, 4);
  for (const bool take : {true, false}) {
    ws::connection c;
    c.send(frame::binary(std::string(payload)));
    // A caller's thread writes a first part, then the writer (or a plain reader) takes over.
    std::string wire;
    std::size_t left = 12345;
    c.output_prefix(left).for_each_piece([&](std::string_view piece) {
      const std::size_t k = std::min(left, piece.size());
      wire.append(piece.substr(0, k));
      left -= k;
    });
    c.consume_output(12345);
    ws::output_queue taken;
    if (take) {
      c.take_output(taken);
    } else {
      c.output().for_each_piece([&](std::string_view piece) { wire.append(piece); });
      c.consume_output(c.pending_output_size());
    }
    taken.for_each_piece([&](std::string_view piece) { wire.append(piece); });
    const auto frames = decode_all(wire);
    ASSERT_EQ(frames.size(), 1u) << (take ? "take_output" : "output");
    EXPECT_EQ(frames[0].payload, payload) << (take ? "take_output" : "output");

    // The next payload given away is masked as it is written again.
    c.send(frame::binary(std::string(payload)));
    const auto next = decode_all(write_in_steps(c, {100000}, {100000}));
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].payload, payload);
  }
}

TEST(WsOutputPrefix, FragmentedPayloadsAreMaskedUpFront) {
  // With fragment_size, each frame has its own key: the payload is masked when queued.
  ws::connection_options o;
  o.fragment_size = ws::connection::owned_payload_min;
  ws::connection c(o);
  const std::string payload = pattern(ws::connection::owned_payload_min * 2 + 10, 5);
  c.send(frame::binary(std::string(payload)));
  const auto frames = decode_all(write_in_steps(c, {777}, {777}));
  ASSERT_EQ(frames.size(), 3u);
  std::string joined;
  for (const auto& f : frames)
    joined += f.payload;
  EXPECT_EQ(joined, payload);
}
