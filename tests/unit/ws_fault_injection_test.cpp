// A fault-injecting in-memory transport around the WebSocket core, in the manner of Beast's
// test stream that fails the Nth operation: one valid server conversation is replayed with a
// fault at every byte position (the stream ends there, or that byte is corrupted), and the
// core must always end in a defined state: events that are a prefix of the clean run, then a
// close (1006 for a cut stream) or a protocol violation with a valid close code. Never a crash,
// never a hang, never a half-reported message.
#include "proto/ws/connection.hpp"
#include "proto/ws/frame_codec.hpp"

#include <courier/ws/frame.hpp>

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

namespace pws = courier::proto::ws;
namespace cws = courier::ws;

namespace {

// What the server says in the clean run: text, a fragmented binary message with a ping inside,
// a pong, and a close.
std::string server_conversation() {
  std::string out;
  pws::append_frame(out, cws::frame::text("hello, world"));
  pws::append_frame(out, cws::frame::binary(std::string("\x00\x01\x02", 3), false));
  pws::append_frame(out, cws::frame::ping("inside"));
  cws::frame cont{cws::opcode::continuation, true, false, false, false, std::string(300, 'x')};
  pws::append_frame(out, cont);
  pws::append_frame(out, cws::frame::pong("p"));
  pws::append_frame(out, cws::frame::close(1000, "done"));
  return out;
}

// The in-memory transport: delivers `bytes` to the core in reads of `chunk` bytes, stopping
// at `cut` with an EOF (the peer vanished), and returns every event the core produced.
std::vector<pws::event> run(const std::string& bytes, std::size_t chunk, std::size_t cut,
                            std::string* written = nullptr) {
  pws::connection core;
  std::vector<pws::event> events;
  std::size_t pos = 0;
  const std::size_t end = std::min(cut, bytes.size());
  for (int guard = 0; pos < end && guard < 100000; ++guard) {
    std::size_t n = std::min(chunk, end - pos);
    core.receive_data(std::string_view(bytes).substr(pos, n));
    pos += n;
    while (auto e = core.next_event())
      events.push_back(std::move(*e));
  }
  if (cut < bytes.size()) core.receive_eof();
  while (auto e = core.next_event())
    events.push_back(std::move(*e));
  if (written) *written = std::string(core.pending_output());
  return events;
}

bool is_terminal(const pws::event& e) {
  return std::holds_alternative<pws::close_received>(e) ||
         std::holds_alternative<pws::protocol_violation>(e);
}

}  // namespace

TEST(WsFaultInjection, StreamCutAtEveryByte) {
  const std::string bytes = server_conversation();
  const auto clean = run(bytes, bytes.size(), bytes.size());
  ASSERT_TRUE(std::holds_alternative<pws::close_received>(clean.back()));
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, bytes.size()}) {
      auto events = run(bytes, chunk, cut);
      ASSERT_FALSE(events.empty()) << "cut " << cut;
      // Everything before the end is what the clean run saw, in order.
      for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        ASSERT_LT(i, clean.size());
        ASSERT_EQ(events[i], clean[i]) << "cut " << cut << " chunk " << chunk << " event " << i;
      }
      const auto& last = events.back();
      ASSERT_TRUE(std::holds_alternative<pws::close_received>(last)) << "cut " << cut;
      EXPECT_EQ(std::get<pws::close_received>(last).close.code, cws::close_code::abnormal)
          << "a cut stream is an abnormal close, at " << cut;
    }
  }
}

TEST(WsFaultInjection, CorruptedByteAtEveryPosition) {
  const std::string clean_bytes = server_conversation();
  for (std::size_t at = 0; at < clean_bytes.size(); ++at) {
    for (unsigned char flip : {0x80, 0x40, 0x0f, 0xff}) {
      std::string bytes = clean_bytes;
      bytes[at] = static_cast<char>(static_cast<unsigned char>(bytes[at]) ^ flip);
      std::string written;
      auto events = run(bytes, 5, bytes.size(), &written);
      // Either the corruption was harmless (different payload bytes) and the run ends as the
      // clean one does, or the core stopped with a violation carrying a code it may send.
      // (A corrupted length may leave the core waiting for bytes that never come: no events.)
      std::size_t terminals = 0;
      for (const auto& e : events)
        terminals += is_terminal(e) ? 1 : 0;
      EXPECT_LE(terminals, 1u) << "at most one ending, at " << at;
      if (!events.empty() && std::holds_alternative<pws::protocol_violation>(events.back())) {
        const auto* v = &std::get<pws::protocol_violation>(events.back());
        EXPECT_TRUE(cws::is_valid_close_code(v->close_code)) << v->close_code << " at " << at;
        // The last frame the core queued is a well-formed close carrying that code.
        std::optional<pws::decoded_frame> frame, next;
        std::string_view rest = written;
        while ((next = pws::decode_frame(rest))) {
          rest.remove_prefix(next->wire_size);
          frame = std::move(next);
        }
        ASSERT_TRUE(frame.has_value()) << "at " << at;
        EXPECT_TRUE(rest.empty()) << "at " << at;
        EXPECT_EQ(frame->header.opcode, 8) << "at " << at;
        ASSERT_GE(frame->payload.size(), 2u);
        EXPECT_EQ((static_cast<unsigned char>(frame->payload[0]) << 8) |
                      static_cast<unsigned char>(frame->payload[1]),
                  v->close_code);
      }
    }
  }
}
