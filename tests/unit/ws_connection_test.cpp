// The client connection core's API: sending rules, output handling, states, limits.
// Protocol conformance (what a server may send) is in ws_conformance.cpp.
#include "proto/ws/connection.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <set>

namespace ws = courier::proto::ws;
using courier::ws::frame;
using courier::ws::opcode;

namespace {

std::string server(const frame& f) {
  std::string out;
  ws::append_frame(out, f);
  return out;
}

frame continuation(std::string payload, bool fin) {
  frame f{opcode::continuation, fin, false, false, false, std::move(payload)};
  return f;
}

std::vector<ws::event> drain(ws::connection& c) {
  std::vector<ws::event> events;
  while (auto e = c.next_event())
    events.push_back(std::move(*e));
  return events;
}

// Every byte the client has queued, from all the pieces of its output.
std::string all_output(const ws::connection& c) {
  std::string all;
  c.output().for_each_piece([&](std::string_view piece) { all += piece; });
  EXPECT_EQ(all.size(), c.pending_output_size());
  return all;
}

// Decodes (and consumes) everything the client has queued, checking each frame is masked.
std::vector<ws::decoded_frame> sent(ws::connection& c) {
  std::vector<ws::decoded_frame> frames;
  const std::string all = all_output(c);
  std::string_view out = all;
  while (!out.empty()) {
    auto f = ws::decode_frame(out);
    if (!f) {
      ADD_FAILURE() << "incomplete frame in the client's output";
      break;
    }
    EXPECT_TRUE(f->header.masked);
    out.remove_prefix(f->wire_size);
    frames.push_back(std::move(*f));
  }
  c.consume_output(all.size());
  return frames;
}

// Bytes that neither repeat nor compress (a fixed LCG sequence), so that every byte counts.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint64_t x = 42;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s[i] = static_cast<char>(x >> 56);
  }
  return s;
}

// The payloads of the frames in `stream`, joined.
std::string joined_payloads(std::string_view stream) {
  std::string joined;
  while (!stream.empty()) {
    auto f = ws::decode_frame(stream);
    if (!f) {
      ADD_FAILURE() << "incomplete frame";
      break;
    }
    joined += f->payload;
    stream.remove_prefix(f->wire_size);
  }
  return joined;
}

ws::connection_options with_deflate(ws::deflate_params p = {}) {
  ws::connection_options o;
  o.deflate = p;
  return o;
}

}  // namespace

TEST(WsConnection, SendsEachKindOfFrame) {
  ws::connection c;
  c.send(frame::text("hi"));
  c.send(frame::binary(std::string("\x00\x01", 2)));
  c.send(frame::ping("p"));
  c.send(frame::pong("q"));
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].header.opcode, 1);
  EXPECT_EQ(out[0].payload, "hi");
  EXPECT_EQ(out[1].header.opcode, 2);
  EXPECT_EQ(out[1].payload, std::string("\x00\x01", 2));
  EXPECT_EQ(out[2].header.opcode, 9);
  EXPECT_EQ(out[3].header.opcode, 10);
  for (const auto& f : out) {
    EXPECT_TRUE(f.header.fin);
    EXPECT_FALSE(f.header.rsv1 || f.header.rsv2 || f.header.rsv3);
  }
  EXPECT_EQ(c.current_state(), ws::state::open);
  EXPECT_FALSE(c.wants_tcp_close());
}

TEST(WsConnection, FragmentedSendWithControlFramesBetween) {
  ws::connection c;
  c.send(frame::text("caf\xc3", false));
  c.send(frame::ping("between"));
  c.send(frame::text("\xa9 ", false), true);
  c.send(continuation("end", true));  // the continuation opcode works as is_continuation
  c.send(frame::binary(std::string("next")));
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].header.opcode, 1);
  EXPECT_FALSE(out[0].header.fin);
  EXPECT_EQ(out[1].header.opcode, 9);
  EXPECT_EQ(out[2].header.opcode, 0);
  EXPECT_FALSE(out[2].header.fin);
  EXPECT_EQ(out[3].header.opcode, 0);
  EXPECT_TRUE(out[3].header.fin);
  EXPECT_EQ(out[0].payload + out[2].payload + out[3].payload, "caf\xc3\xa9 end");
  EXPECT_EQ(out[4].header.opcode, 2);
}

TEST(WsConnection, FragmentRulesAreEnforcedOnSend) {
  ws::connection c;
  EXPECT_THROW(c.send(frame::text("x"), true), courier::protocol_error);
  EXPECT_THROW(c.send(continuation("x", true)), courier::protocol_error);
  c.send(frame::binary(std::string("a"), false));
  EXPECT_THROW(c.send(frame::text("new")), courier::protocol_error);
  EXPECT_THROW(c.send(frame::binary(std::string("new"))), courier::protocol_error);
  c.send(frame::binary(std::string("b")), true);
  c.send(frame::text("fresh"));  // the fragmented message is finished
  EXPECT_EQ(sent(c).size(), 3u);
}

TEST(WsConnection, InvalidFramesAreRejectedBeforeAnythingIsQueued) {
  ws::connection c;
  EXPECT_THROW(c.send(frame::ping(std::string(126, 'x'))), courier::invalid_request);
  EXPECT_THROW(c.send(frame::pong(std::string(126, 'x'))), courier::invalid_request);
  frame fragmented_ping = frame::ping("x");
  fragmented_ping.fin = false;
  EXPECT_THROW(c.send(fragmented_ping), courier::invalid_request);
  EXPECT_THROW(c.send(frame::ping("x"), true), courier::invalid_request);
  EXPECT_THROW(c.send(frame::text("\xff")), courier::invalid_request);
  EXPECT_THROW(c.send(frame::text("\xc3")), courier::invalid_request);  // ends mid code point
  frame reserved = frame::text("x");
  reserved.op = static_cast<opcode>(3);
  EXPECT_THROW(c.send(reserved), courier::invalid_request);
  EXPECT_TRUE(c.pending_output().empty());
  c.send(frame::ping(std::string(125, 'x')));
  EXPECT_EQ(sent(c).size(), 1u);
}

TEST(WsConnection, RejectedTextFragmentLeavesTheMessageUsable) {
  ws::connection c;
  c.send(frame::text("a\xe2", false));
  EXPECT_THROW(c.send(frame::text("(", false), true), courier::invalid_request);
  c.send(frame::text("\x82\xac", true), true);  // completes the euro sign
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload + out[1].payload, "a\xe2\x82\xac");
}

TEST(WsConnection, CallerRsvBitsAreIgnoredWithoutDeflate) {
  ws::connection c;
  frame f = frame::text("x");
  f.rsv1 = f.rsv2 = f.rsv3 = true;
  c.send(f);
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].header.rsv1 || out[0].header.rsv2 || out[0].header.rsv3);
}

TEST(WsConnection, SendCloseValidatesCodeAndReason) {
  ws::connection c;
  for (std::uint16_t bad : {0, 999, 1004, 1006, 1015, 1016, 2999, 5000}) {
    EXPECT_THROW(c.send_close(bad), courier::invalid_request) << bad;
  }
  EXPECT_THROW(c.send_close(1000, std::string(124, 'r')), courier::invalid_request);
  EXPECT_THROW(c.send_close(1000, "\xc3("), courier::invalid_request);
  EXPECT_THROW(c.send_close(courier::ws::close_code::no_status, "reason"),
               courier::invalid_request);
  EXPECT_TRUE(c.pending_output().empty());
  EXPECT_EQ(c.current_state(), ws::state::open);

  c.send_close(4000, std::string(123, 'r'));
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].header.opcode, 8);
  EXPECT_EQ(out[0].payload, std::string("\x0f\xa0", 2) + std::string(123, 'r'));
  EXPECT_EQ(c.current_state(), ws::state::closing);
}

TEST(WsConnection, NoStatusSendsAnEmptyCloseFrame) {
  ws::connection c;
  c.send_close(courier::ws::close_code::no_status);
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].payload.empty());
}

TEST(WsConnection, SendingACloseFrameActsAsSendClose) {
  ws::connection c;
  frame bad = frame::close(1000);
  bad.payload = "x";
  EXPECT_THROW(c.send(bad), courier::invalid_request);
  EXPECT_THROW(c.send(frame::close(1005 + 1)), courier::invalid_request);
  c.send(frame::close(1001, "away"));
  EXPECT_EQ(c.current_state(), ws::state::closing);
  EXPECT_EQ(sent(c).at(0).payload, std::string("\x03\xe9"
                                               "away",
                                               6));
}

TEST(WsConnection, NothingCanBeSentAfterOurClose) {
  ws::connection c;
  c.send(frame::text("part", false));
  c.send_close();  // a close may interrupt a fragmented message
  EXPECT_THROW(c.send(frame::text("x")), courier::protocol_error);
  EXPECT_THROW(c.send(frame::text("x"), true), courier::protocol_error);
  EXPECT_THROW(c.send(frame::ping()), courier::protocol_error);
  EXPECT_THROW(c.send_close(), courier::protocol_error);
  EXPECT_EQ(sent(c).size(), 2u);
}

TEST(WsConnection, CloseHandshakeStartedByUs) {
  ws::connection c;
  c.send_close(1000, "bye");
  EXPECT_EQ(c.current_state(), ws::state::closing);
  EXPECT_FALSE(c.wants_tcp_close());
  // The server may still send data before its close.
  c.receive_data(server(frame::text("late")) + server(frame::ping("p")));
  c.receive_data(server(frame::close(1000, "ok")));
  EXPECT_EQ(c.current_state(), ws::state::closing);  // until the close event is taken
  const auto events = drain(c);
  EXPECT_EQ(c.current_state(), ws::state::closed);
  EXPECT_TRUE(c.wants_tcp_close());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(std::get<ws::data_event>(events[0]).payload, "late");
  EXPECT_EQ(std::get<ws::ping_event>(events[1]).payload, "p");
  EXPECT_EQ(std::get<ws::close_received>(events[2]).close, (courier::ws::close_event{1000, "ok"}));
  // Only our close went out: no pong after it, no second close.
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].header.opcode, 8);
  c.receive_eof();
  EXPECT_FALSE(c.next_event());  // a normal end
}

TEST(WsConnection, CloseHandshakeStartedByTheServer) {
  ws::connection c;
  c.receive_data(server(frame::close(4001, "server says")));
  const auto events = drain(c);
  EXPECT_EQ(c.current_state(), ws::state::close_received);
  EXPECT_TRUE(c.wants_tcp_close());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<ws::close_received>(events[0]).close,
            (courier::ws::close_event{4001, "server says"}));
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, std::string("\x0f\xa1", 2));  // the code echoed
  EXPECT_THROW(c.send(frame::text("x")), courier::protocol_error);
  EXPECT_THROW(c.send_close(), courier::protocol_error);
  c.receive_eof();
  EXPECT_EQ(c.current_state(), ws::state::closed);
  EXPECT_FALSE(c.next_event());
}

TEST(WsConnection, EofBeforeTheCloseHandshakeIsAbnormal) {
  ws::connection c;
  c.receive_data(server(frame::text("a")));
  c.receive_eof();
  const auto events = drain(c);
  ASSERT_EQ(events.size(), 2u);
  const auto& close = std::get<ws::close_received>(events[1]).close;
  EXPECT_EQ(close.code, courier::ws::close_code::abnormal);
  EXPECT_NE(close.reason.find("without a close frame"), std::string::npos);
  EXPECT_EQ(c.current_state(), ws::state::closed);
  EXPECT_TRUE(c.pending_output().empty());  // nothing to answer on a dead stream

  ws::connection mid;
  mid.receive_data(server(frame::text("abcdef")).substr(0, 4));
  mid.receive_eof();
  const auto e2 = drain(mid);
  ASSERT_EQ(e2.size(), 1u);
  EXPECT_NE(std::get<ws::close_received>(e2[0]).close.reason.find("middle of a frame"),
            std::string::npos);
}

TEST(WsConnection, RepliesAreQueuedWhenTheirEventIsTaken) {
  // A message, a ping and a close in one read: the caller's echo of the message still goes
  // out before the pong and our close frame, as from a client reading a frame at a time.
  ws::connection c;
  c.receive_data(server(frame::text("echo me")) + server(frame::ping("p")) +
                 server(frame::close(1001)));
  EXPECT_TRUE(c.pending_output().empty());
  EXPECT_EQ(c.current_state(), ws::state::open);
  auto first = c.next_event();
  ASSERT_TRUE(first);
  c.send(frame::text(std::get<ws::data_event>(*first).payload));
  drain(c);
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].header.opcode, 1);
  EXPECT_EQ(out[0].payload, "echo me");
  EXPECT_EQ(out[1].header.opcode, 10);
  EXPECT_EQ(out[2].header.opcode, 8);
  EXPECT_EQ(out[2].payload, std::string("\x03\xe9", 2));
  EXPECT_EQ(c.current_state(), ws::state::close_received);

  // The same for a violation: the echo first, then the close with the error code.
  ws::connection v;
  v.receive_data(server(frame::text("echo me")) + std::string("\x83\x00", 2));
  auto msg = v.next_event();
  ASSERT_TRUE(msg);
  v.send(frame::text("echo me"));
  auto violation = v.next_event();
  ASSERT_TRUE(violation);
  EXPECT_EQ(std::get<ws::protocol_violation>(*violation).close_code, 1002);
  const auto vout = sent(v);
  ASSERT_EQ(vout.size(), 2u);
  EXPECT_EQ(vout[0].header.opcode, 1);
  EXPECT_EQ(vout[1].header.opcode, 8);
}

TEST(WsConnection, PeekingAtAViolationQueuesNoCloseFrame) {
  // The I/O layer holds a violation back while the application answers what came before it:
  // peeking leaves the violation where it is, the state open and the output empty.
  ws::connection c;
  EXPECT_EQ(c.peek_event(), nullptr);
  c.receive_data(server(frame::text("first")) + std::string("\x83\x00", 2));
  ASSERT_NE(c.peek_event(), nullptr);
  EXPECT_TRUE(std::holds_alternative<ws::data_event>(*c.peek_event()));
  EXPECT_EQ(std::get<ws::data_event>(c.next_event().value()).payload, "first");
  const ws::event* held = c.peek_event();
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(std::get<ws::protocol_violation>(*held).close_code, 1002);
  EXPECT_EQ(c.peek_event(), held);  // still there
  EXPECT_EQ(c.pending_output_size(), 0u);
  EXPECT_EQ(c.current_state(), ws::state::open);

  // Input and the end of the stream change nothing meanwhile; a reply may still be sent.
  c.receive_data(server(frame::text("ignored")));
  c.receive_eof();
  c.send(frame::text("reply"));
  EXPECT_TRUE(std::holds_alternative<ws::protocol_violation>(*c.peek_event()));

  auto v = c.next_event();
  ASSERT_TRUE(v);
  EXPECT_EQ(std::get<ws::protocol_violation>(*v).reason, "reserved opcode 3");
  EXPECT_EQ(c.peek_event(), nullptr);
  EXPECT_EQ(c.current_state(), ws::state::closed);
  // The stream had ended: the reply is there, but no close frame was queued after it.
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "reply");
}

TEST(WsConnection, EveryKindOfViolationComesAfterTheMessagesBeforeIt) {
  struct bad {
    std::string bytes;
    std::uint16_t code;
    std::string reason;
  };
  const auto raw = [](unsigned char b0, std::string payload) {
    std::string f(1, static_cast<char>(b0));
    f += static_cast<char>(payload.size());  // every payload here is under 126 bytes
    return f + payload;
  };
  const std::vector<bad> cases = {
      {raw(0x81 | 0x20, "rsv2"), 1002,
       "rsv2 or rsv3 set, but no extension using them was negotiated"},
      {raw(0x82 | 0x40, "rsv1"), 1002, "rsv1 set, but permessage-deflate was not negotiated"},
      {raw(0x83, "op"), 1002, "reserved opcode 3"},
      {raw(0x8b, "op"), 1002, "reserved opcode 11"},
      {raw(0x80, "cont"), 1002, "continuation frame without a message to continue"},
      {raw(0x09, "ping"), 1002, "fragmented control frame (opcode 9)"},
      {std::string("\x89\x7e\x00\x7e", 4) + std::string(126, 'p'), 1002,
       "control frame payload longer than 125 bytes"},
      {raw(0x81, "bad \xff"), 1007, "invalid UTF-8 in a text message"},
  };
  for (const auto& b : cases) {
    SCOPED_TRACE(b.reason);
    ws::connection c;
    c.receive_data(server(frame::text("one")) + server(frame::binary("two")) + b.bytes);
    const auto first = c.next_event();
    ASSERT_TRUE(first);
    EXPECT_EQ(std::get<ws::data_event>(*first).payload, "one");
    c.send(frame::text("reply one"));
    const auto second = c.next_event();
    ASSERT_TRUE(second);
    EXPECT_EQ(std::get<ws::data_event>(*second).payload, "two");
    c.send(frame::text("reply two"));
    const auto v = c.next_event();
    ASSERT_TRUE(v);
    EXPECT_EQ(std::get<ws::protocol_violation>(*v).close_code, b.code);
    EXPECT_EQ(std::get<ws::protocol_violation>(*v).reason, b.reason);
    EXPECT_FALSE(c.next_event());
    const auto out = sent(c);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].payload, "reply one");
    EXPECT_EQ(out[1].payload, "reply two");
    EXPECT_EQ(out[2].header.opcode, 8);
    EXPECT_EQ(out[2].payload.substr(0, 2),
              std::string({static_cast<char>(b.code >> 8), static_cast<char>(b.code & 0xff)}));
    EXPECT_EQ(out[2].payload.substr(2), b.reason);
  }
}

TEST(WsConnection, AutoPongCanBeTurnedOff) {
  ws::connection on;
  on.receive_data(server(frame::ping("x")));
  EXPECT_EQ(std::get<ws::ping_event>(on.next_event().value()).payload, "x");
  EXPECT_EQ(sent(on).at(0).payload, "x");

  ws::connection_options o;
  o.auto_pong = false;
  ws::connection off(o);
  off.receive_data(server(frame::ping("x")));
  EXPECT_TRUE(off.pending_output().empty());
  EXPECT_EQ(std::get<ws::ping_event>(off.next_event().value()).payload, "x");
}

TEST(WsConnection, ConsumeOutputInPieces) {
  ws::connection c;
  c.send(frame::text("hello"));
  const std::string all(c.pending_output());
  ASSERT_EQ(all.size(), 11u);
  c.consume_output(3);
  EXPECT_EQ(c.pending_output(), all.substr(3));
  EXPECT_THROW(c.consume_output(9), courier::invalid_request);
  c.send(frame::text("more"));
  EXPECT_EQ(c.pending_output().substr(0, 8), all.substr(3));
  c.consume_output(c.pending_output().size());
  EXPECT_TRUE(c.pending_output().empty());
}

TEST(WsConnection, TakeOutputMovesThePendingBytesWithoutCopying) {
  ws::connection c;
  c.send(frame::binary(std::string(100, 'a')));
  c.send(frame::binary(std::string(50, 'b')));
  const std::string expected(c.pending_output());
  const char* storage = c.pending_output().data();
  ws::output_queue taken;
  c.take_output(taken);
  EXPECT_EQ(taken.front(), expected);
  EXPECT_EQ(taken.front().data(), storage) << "the storage moves, not the bytes";
  EXPECT_TRUE(c.pending_output().empty());

  // New frames go to the other queue while the taken bytes are being written.
  c.send(frame::text("next"));
  EXPECT_EQ(taken.front(), expected);
  auto frames = sent(c);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, "next");

  // Taking into a queue that still holds bytes is refused; once written, it can be reused.
  c.send(frame::text("again"));
  EXPECT_THROW(c.take_output(taken), courier::invalid_request);
  EXPECT_FALSE(c.pending_output().empty()) << "a refused take leaves the output alone";
  taken.consume(taken.size());
  const std::string pending(c.pending_output());
  c.take_output(taken);
  EXPECT_EQ(taken.front(), pending);
  EXPECT_TRUE(c.pending_output().empty());
}

TEST(WsConnection, LargePayloadsGivenAwayAreQueuedWithoutACopy) {
  ws::connection c;
  std::string big(ws::connection::owned_payload_min + 5, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 7);
  const std::string original = big;
  const char* storage = big.data();
  c.send(frame::text("before"));
  c.send(frame::binary(std::move(big)));
  c.send(frame::ping("between"));

  std::vector<std::string_view> pieces;
  c.output().for_each_piece([&](std::string_view p) { pieces.push_back(p); });
  ASSERT_EQ(pieces.size(), 3u) << "frame bytes, the payload in its own string, frame bytes";
  EXPECT_EQ(pieces[1].data(), storage) << "the payload was masked in place, not copied";
  EXPECT_EQ(c.pending_output(), pieces[0]);

  const auto frames = sent(c);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload, "before");
  EXPECT_EQ(frames[1].payload, original) << "unmasked by the decoder, the bytes are the same";
  EXPECT_EQ(frames[2].payload, "between");
  EXPECT_EQ(c.pending_output_size(), 0u);

  // A payload sent from an lvalue (or a short one) is copied: the caller keeps it intact.
  const frame kept = frame::binary(original);
  c.send(kept);
  EXPECT_EQ(kept.payload, original);
  int count = 0;
  c.output().for_each_piece([&](std::string_view) { ++count; });
  EXPECT_EQ(count, 1);
  EXPECT_EQ(sent(c)[0].payload, original);
}

TEST(WsConnection, LargeTextGivenAwayIsCheckedAndMaskedInPlace) {
  // Three-byte characters, so that slices of the in-place check end inside a character.
  std::string text;
  while (text.size() < ws::connection::owned_payload_min * 3)
    text += "x\xe2\x82\xac";  // "x€"
  ws::connection c;
  std::string given = text;
  const char* storage = given.data();
  c.send(frame::text(std::move(given)));
  std::vector<std::string_view> pieces;
  c.output().for_each_piece([&](std::string_view p) { pieces.push_back(p); });
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[1].data(), storage) << "masked in place, not copied";
  auto frames = sent(c);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, text);

  // A bad byte far into the payload: refused, and the caller's bytes are unmasked again.
  for (std::size_t bad_at : {std::size_t{5}, text.size() / 2 + 1, text.size() - 1}) {
    std::string broken = text;
    broken[bad_at] = '\xff';
    frame f = frame::text(broken);
    EXPECT_THROW(c.send(std::move(f)), courier::invalid_request) << bad_at;
    EXPECT_EQ(f.payload, broken) << "restored after the rejection, bad byte at " << bad_at;
    EXPECT_EQ(c.pending_output_size(), 0u);
  }
  // A message cut inside a character is refused as a final frame, restored too.
  std::string cut = text.substr(0, text.size() - 1);
  frame f = frame::text(cut);
  EXPECT_THROW(c.send(std::move(f)), courier::invalid_request);
  EXPECT_EQ(f.payload, cut);
  // ... and accepted as a first fragment, completed by the next one.
  f.fin = false;
  c.send(std::move(f));
  frame rest = frame::text("\xac");
  c.send(std::move(rest), true);
  frames = sent(c);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].payload + frames[1].payload, text);
}

TEST(WsConnection, PartialConsumesCrossPieceBoundaries) {
  ws::connection c;
  std::string expected_payloads, stream;
  for (int i = 0; i < 40; ++i) {
    // Small frames and payloads big enough to be queued in their own strings, mixed.
    const std::size_t size = i % 3 == 0 ? ws::connection::owned_payload_min + 1000 * i : 10 + i;
    std::string p(size, static_cast<char>('a' + i % 26));
    expected_payloads += p;
    c.send(frame::binary(std::move(p)));
    // Write a bit less than everything, as a partial socket write would, piece by piece.
    std::size_t n = c.pending_output_size() * 2 / 3;
    const std::size_t taken = n;
    c.output().for_each_piece([&](std::string_view piece) {
      const std::size_t here = std::min(n, piece.size());
      stream += piece.substr(0, here);
      n -= here;
    });
    c.consume_output(taken);
  }
  stream += all_output(c);
  c.consume_output(c.pending_output_size());
  EXPECT_EQ(c.pending_output_size(), 0u);
  EXPECT_EQ(joined_payloads(stream), expected_payloads);
  EXPECT_THROW(c.consume_output(1), courier::invalid_request);
}

TEST(WsConnection, OutputQueueKeepsOneBufferWhenEmptied) {
  ws::output_queue q;
  std::memcpy(q.prepare(3), "abc", 3);
  q.commit(3);
  q.append(std::string(10, 'x'));
  std::memcpy(q.prepare(2), "yz", 2);
  q.commit(2);
  EXPECT_EQ(q.size(), 15u);
  EXPECT_EQ(q.front(), "abc");
  q.consume(5);
  EXPECT_EQ(q.front(), "xxxxxxxx");
  q.consume(10);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.front(), "");
  // The byte buffer survives, so the next frame does not allocate again.
  const char* first = q.prepare(2);
  std::memcpy(q.prepare(2), "hi", 2);
  q.commit(2);
  EXPECT_EQ(q.front(), "hi");
  EXPECT_EQ(q.front().data(), first);
  q.append(std::string());  // nothing to queue
  EXPECT_EQ(q.size(), 2u);
}

TEST(WsConnection, OutputBufferSwapExchangesContents) {
  ws::output_buffer a, b;
  std::memcpy(a.prepare(3), "abc", 3);
  a.commit(3);
  a.consume(1);
  std::memcpy(b.prepare(2), "xy", 2);
  b.commit(2);
  a.swap(b);
  EXPECT_EQ(a.data(), "xy");
  EXPECT_EQ(b.data(), "bc");
  b.consume(2);
  EXPECT_TRUE(b.empty());
  std::memcpy(b.prepare(4), "1234", 4);  // the swapped-in storage is reused
  b.commit(4);
  EXPECT_EQ(b.data(), "1234");
}

TEST(WsConnection, OutputBufferSurvivesManyInterleavedWritesAndPartialConsumes) {
  ws::connection c;
  std::string expected_payloads, stream;
  for (int i = 0; i < 3000; ++i) {
    const std::string p(static_cast<std::size_t>(i % 300), static_cast<char>('a' + i % 26));
    c.send(frame::binary(p));
    expected_payloads += p;
    // Take a bit less than everything, as a partial socket write would.
    const std::size_t n = c.pending_output().size() * 2 / 3;
    stream += c.pending_output().substr(0, n);
    c.consume_output(n);
  }
  stream += c.pending_output();
  c.consume_output(c.pending_output().size());
  EXPECT_EQ(joined_payloads(stream), expected_payloads);
}

TEST(WsConnection, LongPayloadsCanBeReadStraightIntoTheirEvent) {
  ws::connection c;
  const std::string payload = pattern(600 * 1024);
  const std::string wire = server(frame::binary(payload));
  const std::size_t header = wire.size() - payload.size();
  // The header and the first bytes arrive through receive_data, as from a read buffer.
  c.receive_data(std::string_view(wire).substr(0, header + 1000));
  std::size_t at = 1000;
  auto space = c.payload_space(64 * 1024);
  EXPECT_EQ(space.size(), 256u * 1024) << "the space grows a step at a time";
  // The rest is "read" into the space in pieces of 100,000 bytes, asking for it each time.
  for (int guard = 0; !space.empty() && guard < 100; ++guard) {
    const std::size_t k = std::min<std::size_t>(space.size(), 100000);
    std::memcpy(space.data(), payload.data() + at, k);
    c.payload_written(k);
    at += k;
    if (at < payload.size()) EXPECT_FALSE(c.has_event());
    space = c.payload_space(1);
  }
  EXPECT_EQ(at, payload.size());
  const auto events = drain(c);
  ASSERT_EQ(events.size(), 1u);
  const auto& d = std::get<ws::data_event>(events[0]);
  EXPECT_EQ(d.payload, payload);
  EXPECT_TRUE(d.fin);
  EXPECT_TRUE(c.payload_space(1).empty()) << "between frames there is no payload to read";

  // The next frame works as usual, and a frame whose rest arrives through receive_data after
  // the space was handed out (a read buffer after all) ends up the same.
  c.receive_data(std::string_view(wire).substr(0, header + 10));
  ASSERT_FALSE(c.payload_space(64 * 1024).empty());
  c.receive_data(std::string_view(wire).substr(header + 10));
  const auto more = drain(c);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(std::get<ws::data_event>(more[0]).payload, payload);
}

TEST(WsConnection, PayloadSpaceIsOnlyForLongUncompressedDataPayloads) {
  ws::connection c;
  const std::string small = server(frame::binary(std::string(1000, 'a')));
  c.receive_data(std::string_view(small).substr(0, 10));
  EXPECT_TRUE(c.payload_space(64 * 1024).empty()) << "less than min_size to come";
  EXPECT_EQ(c.payload_space(100).size(), 1000u - 6);
  EXPECT_THROW(c.payload_written(1000), courier::invalid_request) << "more than the space";

  ws::connection compressed(with_deflate());
  ws::message_deflater server_deflater(15, false);
  frame f = frame::binary("");
  server_deflater.compress(pattern(100 * 1024), true, f.payload);
  f.rsv1 = true;
  const std::string wire = server(f);
  compressed.receive_data(std::string_view(wire).substr(0, 20));
  EXPECT_TRUE(compressed.payload_space(1).empty()) << "compressed bytes go to the inflater";
}

TEST(WsConnection, TextWrittenIntoPayloadSpaceIsValidated) {
  ws::connection c;
  std::string text(100 * 1024, 'x');
  text[70 * 1024] = '\xff';
  const std::string wire = server(frame::text(text));
  const std::size_t header = wire.size() - text.size();
  c.receive_data(std::string_view(wire).substr(0, header));
  auto space = c.payload_space(64 * 1024);
  ASSERT_EQ(space.size(), text.size());
  std::memcpy(space.data(), text.data(), space.size());
  c.payload_written(space.size());
  const auto events = drain(c);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<ws::protocol_violation>(events[0]).close_code, 1007);
}

TEST(WsConnection, MessageSizeLimitCountsFragmentsBeforeBuffering) {
  ws::connection_options o;
  o.max_message_size = 100;
  ws::connection c(o);
  c.receive_data(server(frame::binary(std::string(100, 'a'))));  // exactly the limit
  c.receive_data(server(frame::binary(std::string(60, 'b'), false)));
  // Only the header of the second fragment: 60 + 41 > 100 fails before its payload arrives.
  c.receive_data(server(continuation(std::string(41, 'c'), true)).substr(0, 2));
  const auto events = drain(c);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(std::get<ws::data_event>(events[0]).payload.size(), 100u);
  EXPECT_EQ(std::get<ws::protocol_violation>(events[2]).close_code, 1009);
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.substr(0, 2), std::string("\x03\xf1", 2));
  EXPECT_EQ(c.current_state(), ws::state::closed);
  EXPECT_TRUE(c.wants_tcp_close());
}

TEST(WsConnection, InputAfterAViolationIsIgnored) {
  ws::connection c;
  c.receive_data(std::string("\x83\x00", 2) + server(frame::text("after")));
  c.receive_data(server(frame::ping("ignored")));
  const auto events = drain(c);
  c.receive_eof();
  EXPECT_FALSE(c.next_event());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<ws::protocol_violation>(events[0]).close_code, 1002);
  EXPECT_EQ(sent(c).size(), 1u);  // the close frame only
}

TEST(WsConnection, ViolationAfterOurCloseQueuesNoSecondClose) {
  ws::connection c;
  c.send_close();
  sent(c);
  c.receive_data(std::string("\x83\x00", 2));
  const auto events = drain(c);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<ws::protocol_violation>(events[0]).close_code, 1002);
  EXPECT_TRUE(c.pending_output().empty());
  EXPECT_EQ(c.current_state(), ws::state::closed);
}

TEST(WsConnection, EventsCanBeDrainedWhileMoreArrive) {
  ws::connection c;
  std::size_t seen = 0;
  for (int i = 0; i < 5000; ++i) {
    c.receive_data(server(frame::text(std::to_string(i))));
    c.receive_data(server(frame::text(std::to_string(i) + "b")));
    auto e = c.next_event();  // take one of the two: the queue grows
    ASSERT_TRUE(e);
    ++seen;
  }
  while (c.next_event())
    ++seen;
  EXPECT_EQ(seen, 10000u);
}

TEST(WsConnection, CompressesOutgoingMessagesWithRsv1OnTheFirstFrameOnly) {
  ws::connection c(with_deflate());
  const std::string text(1000, 'a');
  c.send(frame::text(text));
  c.send(frame::binary(std::string("part one "), false));
  c.send(frame::ping("uncompressed"));
  c.send(frame::binary(std::string("part two")), true);
  const auto out = sent(c);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[0].header.rsv1);
  EXPECT_LT(out[0].payload.size(), 50u);
  EXPECT_TRUE(out[1].header.rsv1);
  EXPECT_FALSE(out[2].header.rsv1);
  EXPECT_EQ(out[2].payload, "uncompressed");
  EXPECT_FALSE(out[3].header.rsv1);
  EXPECT_EQ(out[3].header.opcode, 0);

  // The server's view: one inflater for the connection (context takeover).
  ws::message_inflater server_inflater(false);
  std::string first, second;
  ASSERT_EQ(server_inflater.inflate(out[0].payload, first, 1 << 20),
            ws::message_inflater::status::ok);
  ASSERT_EQ(server_inflater.end_message(first, 1 << 20), ws::message_inflater::status::ok);
  EXPECT_EQ(first, text);
  ASSERT_EQ(server_inflater.inflate(out[1].payload, second, 1 << 20),
            ws::message_inflater::status::ok);
  ASSERT_EQ(server_inflater.inflate(out[3].payload, second, 1 << 20),
            ws::message_inflater::status::ok);
  ASSERT_EQ(server_inflater.end_message(second, 1 << 20), ws::message_inflater::status::ok);
  EXPECT_EQ(second, "part one part two");
}

TEST(WsConnection, LongFramesAreSentAsFragmentsOfTheConfiguredSize) {
  ws::connection_options o;
  o.fragment_size = 1000;
  ws::connection c(o);
  const std::string big = pattern(2500);        // copied: below owned_payload_min
  const std::string huge = pattern(40 * 1024);  // given away: masked in place, no copy
  c.send(frame::binary(big));
  c.send(frame::binary(std::string(huge)));
  c.send(frame::text(std::string(1000, 'x')));         // exactly one fragment: one frame
  c.send(frame::text(std::string(1500, 'y'), false));  // an open message stays open
  c.send(frame::ping("between"));
  c.send(frame{opcode::continuation, true, false, false, false, "end"});

  const auto out = sent(c);
  ASSERT_EQ(out.size(), 3u + 41u + 1u + 2u + 1u + 1u);
  auto check_message = [&](std::size_t first, std::size_t count, std::uint8_t op,
                           const std::string& expected) {
    std::string joined;
    std::set<std::uint32_t> keys;
    for (std::size_t i = first; i < first + count; ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(out[i].header.opcode, i == first ? op : 0);
      EXPECT_EQ(out[i].header.fin, i == first + count - 1);
      EXPECT_LE(out[i].payload.size(), 1000u);
      std::uint32_t key;
      std::memcpy(&key, out[i].header.key.data(), 4);
      keys.insert(key);
      joined += out[i].payload;
    }
    EXPECT_EQ(joined, expected);
    EXPECT_GT(keys.size(), count / 2) << "every fragment has its own mask key";
  };
  check_message(0, 3, 2, big);
  check_message(3, 41, 2, huge);
  check_message(44, 1, 1, std::string(1000, 'x'));
  EXPECT_EQ(out[45].header.opcode, 1);
  EXPECT_FALSE(out[45].header.fin);
  EXPECT_EQ(out[46].header.opcode, 0);
  EXPECT_FALSE(out[46].header.fin) << "the user's message is still open";
  EXPECT_EQ(out[47].header.opcode, 9);
  EXPECT_EQ(out[48].header.opcode, 0);
  EXPECT_TRUE(out[48].header.fin);
  EXPECT_EQ(out[45].payload + out[46].payload + out[48].payload, std::string(1500, 'y') + "end");
}

TEST(WsConnection, CompressedMessagesAreFragmentedAfterCompression) {
  ws::connection_options o = with_deflate();
  o.fragment_size = 4096;
  ws::connection c(o);
  const std::string noise = pattern(100 * 1024);  // barely compressible: many fragments
  c.send(frame::binary(noise));
  const auto out = sent(c);
  ASSERT_GT(out.size(), 2u);
  ws::message_inflater server_inflater(false);
  std::string got;
  for (std::size_t i = 0; i < out.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out[i].header.rsv1, i == 0) << "rsv1 marks the first frame only";
    EXPECT_EQ(out[i].header.fin, i + 1 == out.size());
    ASSERT_EQ(server_inflater.inflate(out[i].payload, got, 1 << 20),
              ws::message_inflater::status::ok);
  }
  ASSERT_EQ(server_inflater.end_message(got, 1 << 20), ws::message_inflater::status::ok);
  EXPECT_EQ(got, noise);
}

TEST(WsConnection, DecompressesIncomingMessages) {
  ws::connection c(with_deflate());
  ws::message_deflater server_deflater(15, false);
  std::string stream;
  for (std::string_view msg : {"hello hello hello", "hello again", ""}) {
    frame f = frame::text("");
    server_deflater.compress(msg, true, f.payload);
    f.rsv1 = true;
    stream += server(f);
  }
  // And one uncompressed message in between: rsv1 decides per message.
  stream += server(frame::binary(std::string("raw")));
  c.receive_data(stream);
  const auto events = drain(c);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(std::get<ws::data_event>(events[0]).payload, "hello hello hello");
  EXPECT_TRUE(std::get<ws::data_event>(events[0]).rsv1);
  EXPECT_EQ(std::get<ws::data_event>(events[1]).payload, "hello again");
  EXPECT_EQ(std::get<ws::data_event>(events[2]).payload, "");
  EXPECT_EQ(std::get<ws::data_event>(events[3]).payload, "raw");
  EXPECT_FALSE(std::get<ws::data_event>(events[3]).rsv1);
}

TEST(WsConnection, CompressedDeflateBombFailsWith1009) {
  ws::connection_options o = with_deflate();
  o.max_message_size = 1 << 16;
  ws::connection c(o);
  ws::message_deflater server_deflater(15, false);
  frame f = frame::binary(std::string());
  server_deflater.compress(std::string(1 << 22, '\0'), true, f.payload);
  f.rsv1 = true;
  ASSERT_LT(f.payload.size(), 10000u);
  c.receive_data(server(f));
  const auto events = drain(c);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<ws::protocol_violation>(events[0]).close_code, 1009);
}

TEST(WsConnection, CorruptCompressedDataFailsWith1007) {
  ws::connection c(with_deflate());
  frame f = frame::binary(std::string("\xff\xff\xff\xff", 4));
  f.rsv1 = true;
  c.receive_data(server(f));
  const auto events = drain(c);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<ws::protocol_violation>(events[0]).close_code, 1007);
}
