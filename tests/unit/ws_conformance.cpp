// Protocol conformance of the client core, category by category after Autobahn|Testsuite's
// fuzzing server (which tests clients): the test plays the server, feeding frames in one piece,
// frame by frame or byte by byte; the client echoes each message as Autobahn's test clients
// do; the test checks the events, the close code queued and every frame the client sent back.
// Written from RFC 6455 and RFC 7692; the case numbers name the Autobahn case modelled.
#include "proto/ws/connection.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

namespace ws = courier::proto::ws;
using courier::ws::frame;
using courier::ws::opcode;

namespace {

enum class delivery { at_once, per_frame, per_byte };
constexpr delivery all_deliveries[] = {delivery::at_once, delivery::per_frame, delivery::per_byte};

frame make(std::uint8_t op, std::string payload, bool fin = true, unsigned rsv = 0) {
  frame f{static_cast<opcode>(op), fin, (rsv & 4) != 0, (rsv & 2) != 0, (rsv & 1) != 0,
          std::move(payload)};
  return f;
}
frame text(std::string s, bool fin = true) {
  return make(1, std::move(s), fin);
}
frame binary(std::string s, bool fin = true) {
  return make(2, std::move(s), fin);
}
frame cont(std::string s, bool fin = true) {
  return make(0, std::move(s), fin);
}
frame close_frame(std::string payload) {
  return make(8, std::move(payload));
}
frame close_with(std::uint16_t code, std::string reason = {}) {
  return frame::close(code, reason);
}

std::string wire(const frame& f) {
  std::string out;
  ws::append_frame(out, f);
  return out;
}

// A frame the client sent, unmasked.
struct reply {
  std::uint8_t opcode;
  bool fin;
  bool rsv1;
  std::string payload;
};

std::uint16_t close_code_of(const reply& r) {
  if (r.payload.size() < 2) return courier::ws::close_code::no_status;
  return static_cast<std::uint16_t>((static_cast<unsigned char>(r.payload[0]) << 8) |
                                    static_cast<unsigned char>(r.payload[1]));
}

// The fuzzing server's side of one test case, with our client core as the testee.
class fuzzing_server {
 public:
  explicit fuzzing_server(ws::connection_options o = {}) : client(std::move(o)) {}

  void send_raw(std::string_view bytes, std::size_t chop = 0) {
    if (chop == 0) chop = std::max<std::size_t>(bytes.size(), 1);
    for (std::size_t at = 0; at < bytes.size(); at += chop) {
      client.receive_data(bytes.substr(at, chop));
      run_client();
    }
  }

  void send(const std::vector<frame>& frames, delivery how = delivery::at_once) {
    std::string all;
    for (const auto& f : frames) {
      if (how == delivery::per_frame) {
        send_raw(wire(f));
      } else {
        all += wire(f);
      }
    }
    if (how != delivery::per_frame) send_raw(all, how == delivery::per_byte ? 1 : 0);
  }

  // The client collects frames into messages and echoes each complete one.
  void run_client() {
    while (auto e = client.next_event()) {
      if (const auto* d = std::get_if<ws::data_event>(&*e)) {
        message_ += d->payload;
        if (d->fin) {
          if (client.current_state() == ws::state::open) {
            client.send(frame{d->message_type, true, false, false, false, message_});
          }
          messages.push_back(std::move(message_));
          message_.clear();
        }
      }
      events.push_back(std::move(*e));
    }
  }

  // Every frame the client has sent so far.
  const std::vector<reply>& replies() {
    std::string all;
    client.output().for_each_piece([&](std::string_view piece) { all += piece; });
    std::string_view out = all;
    while (!out.empty()) {
      auto f = ws::decode_frame(out);
      if (!f) break;
      EXPECT_TRUE(f->header.masked) << "client frames are masked";
      replies_.push_back({f->header.opcode, f->header.fin, f->header.rsv1, std::move(f->payload)});
      out.remove_prefix(f->wire_size);
    }
    client.consume_output(all.size() - out.size());
    return replies_;
  }

  std::size_t count_events_of_kind(std::size_t variant_index) const {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(),
                      [&](const ws::event& e) { return e.index() == variant_index; }));
  }

  ws::connection client;
  std::vector<ws::event> events;
  std::vector<std::string> messages;

 private:
  std::string message_;
  std::vector<reply> replies_;
};

constexpr std::size_t k_data = 0, k_ping = 1, k_pong = 2, k_close = 3;

// The client failed the connection with `code`: a protocol_violation event last, a close frame
// with that code last in its output, and nothing more accepted.
void expect_failed(fuzzing_server& s, std::uint16_t code) {
  ASSERT_FALSE(s.events.empty());
  const auto* v = std::get_if<ws::protocol_violation>(&s.events.back());
  ASSERT_NE(v, nullptr) << "the last event is not a protocol_violation";
  EXPECT_EQ(v->close_code, code) << v->reason;
  const auto& r = s.replies();
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.back().opcode, 8);
  EXPECT_EQ(close_code_of(r.back()), code);
  EXPECT_EQ(s.client.current_state(), ws::state::closed);
  EXPECT_TRUE(s.client.wants_tcp_close());
  // Whatever comes next is ignored.
  const std::size_t events = s.events.size(), replies = r.size();
  s.send({text("ignored"), make(9, "ignored")});
  EXPECT_EQ(s.events.size(), events);
  EXPECT_EQ(s.replies().size(), replies);
}

void expect_echo(const reply& r, std::uint8_t op, const std::string& payload) {
  EXPECT_EQ(r.opcode, op);
  EXPECT_TRUE(r.fin);
  EXPECT_EQ(r.payload.size(), payload.size());
  EXPECT_TRUE(r.payload == payload) << "payload differs";
}

std::string pattern(std::size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('!' + (i * 7 + seed) % 90);
  return s;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace

// ---------------------------------------------------------------- 1 Framing

TEST(WsConformanceCat1Framing, TextAndBinaryMessagesOfEveryLengthEncodingAreEchoed) {
  // 1.1.1-1.1.6 and 1.2.1-1.2.6.
  for (std::size_t len : {0u, 125u, 126u, 127u, 128u, 65535u, 65536u}) {
    for (std::uint8_t op : {1, 2}) {
      fuzzing_server s;
      const std::string payload = op == 1 ? pattern(len) : random_bytes(len, 3);
      s.send({make(op, payload)});
      const auto& r = s.replies();
      ASSERT_EQ(r.size(), 1u) << len;
      expect_echo(r[0], op, payload);
    }
  }
}

TEST(WsConformanceCat1Framing, MessageChoppedInto997BytePiecesIsEchoed) {
  // 1.1.8 / 1.2.8: 65535 bytes sent in chops of 997.
  for (std::uint8_t op : {1, 2}) {
    fuzzing_server s;
    const std::string payload = op == 1 ? pattern(65535) : random_bytes(65535, 8);
    s.send_raw(wire(make(op, payload)), 997);
    ASSERT_EQ(s.replies().size(), 1u);
    expect_echo(s.replies()[0], op, payload);
  }
}

TEST(WsConformanceCat1Framing, MaskedServerFrameFails1002) {
  // RFC 6455 5.1: a client closes the connection on a masked frame.
  fuzzing_server s;
  std::string masked;
  ws::append_frame(masked, text("hi"), ws::mask_key{1, 2, 3, 4});
  s.send_raw(masked);
  expect_failed(s, 1002);
  EXPECT_EQ(s.count_events_of_kind(k_data), 0u);
}

TEST(WsConformanceCat1Framing, LengthWithTheTopBitSetFails1002) {
  fuzzing_server s;
  s.send_raw(std::string("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10));
  expect_failed(s, 1002);
}

// ---------------------------------------------------------------- 2 Pings and pongs

TEST(WsConformanceCat2PingPong, PingsAreAnsweredWithTheirPayload) {
  // 2.1 empty, 2.2 text, 2.3 binary, 2.4 125 bytes, 2.6 125 bytes byte by byte.
  std::string all_bytes;
  for (int i = 0; i < 125; ++i)
    all_bytes.push_back(static_cast<char>(255 - i));
  for (const std::string& payload : {std::string(), std::string("Hello, world!"),
                                     std::string("\x00\xff\xfe\xfd\xfc", 5), all_bytes}) {
    for (delivery how : all_deliveries) {
      fuzzing_server s;
      s.send({make(9, payload)}, how);
      const auto& r = s.replies();
      ASSERT_EQ(r.size(), 1u);
      expect_echo(r[0], 10, payload);
      ASSERT_EQ(s.events.size(), 1u);
      EXPECT_EQ(std::get<ws::ping_event>(s.events[0]).payload, payload);
    }
  }
}

TEST(WsConformanceCat2PingPong, PingWith126BytesFails1002) {
  // 2.5: control frames carry at most 125 bytes.
  fuzzing_server s;
  s.send({make(9, std::string(126, 'x'))});
  expect_failed(s, 1002);
  EXPECT_EQ(s.replies().size(), 1u);  // no pong, only the close
}

TEST(WsConformanceCat2PingPong, UnsolicitedPongsAreAcceptedAndNotAnswered) {
  // 2.7, 2.8, 2.9: pongs need no ping; a ping after them still gets its pong.
  fuzzing_server s;
  s.send({make(10, ""), make(10, "unsolicited pong payload"), make(9, "ping payload")});
  const auto& r = s.replies();
  ASSERT_EQ(r.size(), 1u);
  expect_echo(r[0], 10, "ping payload");
  EXPECT_EQ(s.count_events_of_kind(k_pong), 2u);
}

TEST(WsConformanceCat2PingPong, TenPingsGetTenPongsInOrder) {
  // 2.10, 2.11 (byte by byte).
  for (delivery how : all_deliveries) {
    fuzzing_server s;
    std::vector<frame> pings;
    for (int i = 0; i < 10; ++i)
      pings.push_back(make(9, "payload-" + std::to_string(i)));
    s.send(pings, how);
    const auto& r = s.replies();
    ASSERT_EQ(r.size(), 10u);
    for (int i = 0; i < 10; ++i)
      expect_echo(r[i], 10, "payload-" + std::to_string(i));
  }
}

// ---------------------------------------------------------------- 3 Reserved bits

TEST(WsConformanceCat3ReservedBits, AnyRsvBitWithoutAnExtensionFails1002) {
  // 3.1-3.7: a good message first (echoed), then the bad frame, then a ping (not answered).
  struct bad_case {
    std::uint8_t op;
    unsigned rsv;
    std::string payload;
  };
  const std::vector<bad_case> cases = {
      {1, 1, "rsv3"},      // 3.1 (rsv bits as 3-bit number: 1 = rsv3, 2 = rsv2, 4 = rsv1)
      {1, 2, "rsv2"},      // 3.2
      {1, 3, "rsv2+3"},    // 3.3
      {1, 4, "rsv1"},      // 3.4 (rsv1: no deflate negotiated)
      {2, 5, "\x00\xff"},  // 3.5
      {9, 6, "ping"},      // 3.6
      {8, 7, "\x03\xe8"},  // 3.7 close
  };
  for (const auto& c : cases) {
    for (delivery how : all_deliveries) {
      fuzzing_server s;
      s.send({text("Hello, world!"), make(c.op, c.payload, true, c.rsv), make(9, "")}, how);
      const auto& r = s.replies();
      ASSERT_EQ(r.size(), 2u) << "rsv " << c.rsv;
      expect_echo(r[0], 1, "Hello, world!");
      expect_failed(s, 1002);
      EXPECT_EQ(s.count_events_of_kind(k_ping), 0u);
    }
  }
}

// ---------------------------------------------------------------- 4 Opcodes

TEST(WsConformanceCat4Opcodes, ReservedOpcodesFail1002) {
  // 4.1.1-4.1.5 (3-7) and 4.2.1-4.2.5 (11-15), with and without payload.
  for (std::uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
    for (const std::string payload : {"", "reserved opcode payload"}) {
      for (delivery how : all_deliveries) {
        fuzzing_server s;
        s.send({text("Hello, world!"), make(op, payload), make(9, "")}, how);
        const auto& r = s.replies();
        ASSERT_EQ(r.size(), 2u) << int(op);
        expect_echo(r[0], 1, "Hello, world!");
        expect_failed(s, 1002);
      }
    }
  }
}

// ---------------------------------------------------------------- 5 Fragmentation

TEST(WsConformanceCat5Fragmentation, FragmentedControlFramesFail1002) {
  // 5.1 ping, 5.2 pong in two fragments.
  for (std::uint8_t op : {9, 10}) {
    fuzzing_server s;
    s.send({make(op, "fragment1", false), cont("fragment2")});
    expect_failed(s, 1002);
    EXPECT_EQ(s.replies().size(), 1u);
  }
}

TEST(WsConformanceCat5Fragmentation, TwoFragmentMessageIsEchoedWhole) {
  // 5.3, 5.4 (per frame), 5.5 (per byte).
  for (delivery how : all_deliveries) {
    fuzzing_server s;
    s.send({text("fragment1", false), cont("fragment2")}, how);
    const auto& r = s.replies();
    ASSERT_EQ(r.size(), 1u);
    expect_echo(r[0], 1, "fragment1fragment2");
    ASSERT_EQ(s.events.size(), 2u);
    const auto& first = std::get<ws::data_event>(s.events[0]);
    const auto& second = std::get<ws::data_event>(s.events[1]);
    EXPECT_FALSE(first.is_continuation);
    EXPECT_FALSE(first.fin);
    EXPECT_TRUE(second.is_continuation);
    EXPECT_TRUE(second.fin);
    EXPECT_EQ(second.message_type, opcode::text);
  }
}

TEST(WsConformanceCat5Fragmentation, PingBetweenFragmentsIsAnsweredFirst) {
  // 5.6, 5.7, 5.8.
  for (delivery how : all_deliveries) {
    fuzzing_server s;
    s.send({text("fragment1", false), make(9, "ping payload"), cont("fragment2")}, how);
    const auto& r = s.replies();
    ASSERT_EQ(r.size(), 2u);
    expect_echo(r[0], 10, "ping payload");
    expect_echo(r[1], 1, "fragment1fragment2");
  }
}

TEST(WsConformanceCat5Fragmentation, ContinuationWithNothingToContinueFails1002) {
  // 5.9-5.11 (fin = 1) and 5.12-5.14 (fin = 0), each followed by a valid message.
  for (bool fin : {true, false}) {
    for (delivery how : all_deliveries) {
      fuzzing_server s;
      s.send({cont("non-continuation payload", fin), text("Hello, world!")}, how);
      expect_failed(s, 1002);
      EXPECT_EQ(s.replies().size(), 1u);
      EXPECT_EQ(s.count_events_of_kind(k_data), 0u);
    }
  }
}

TEST(WsConformanceCat5Fragmentation, ContinuationAfterTheMessageEndedFails1002) {
  // 5.15: text fin=0, cont fin=1 (a whole message), then cont fin=0, text fin=1.
  fuzzing_server s;
  s.send(
      {text("fragment1", false), cont("fragment2"), cont("fragment3", false), text("fragment4")});
  const auto& r = s.replies();
  ASSERT_EQ(r.size(), 2u);
  expect_echo(r[0], 1, "fragment1fragment2");
  expect_failed(s, 1002);
}

TEST(WsConformanceCat5Fragmentation, MessagesStartingWithAContinuationFail1002) {
  // 5.16, 5.17: cont, text, cont, twice over.
  for (bool first_fin : {false, true}) {
    fuzzing_server s;
    s.send({cont("fragment1", first_fin), text("fragment2", false), cont("fragment3")});
    expect_failed(s, 1002);
    EXPECT_EQ(s.count_events_of_kind(k_data), 0u);
  }
}

TEST(WsConformanceCat5Fragmentation, NewDataFrameInsideAFragmentedMessageFails1002) {
  // 5.18: two text frames where the second should have been a continuation.
  for (std::uint8_t second : {1, 2}) {
    fuzzing_server s;
    s.send({text("fragment1", false), make(second, "fragment2")});
    expect_failed(s, 1002);
    EXPECT_EQ(s.messages.size(), 0u);
  }
}

TEST(WsConformanceCat5Fragmentation, FiveFragmentsWithPingsBetween) {
  // 5.19, 5.20: fragments 1-2, ping, fragments 3-4, ping, fragment 5.
  for (delivery how : all_deliveries) {
    fuzzing_server s;
    s.send({text("fragment1", false), cont("fragment2", false), make(9, "pongme 1!"),
            cont("fragment3", false), cont("fragment4", false), make(9, "pongme 2!"),
            cont("fragment5")},
           how);
    const auto& r = s.replies();
    ASSERT_EQ(r.size(), 3u);
    expect_echo(r[0], 10, "pongme 1!");
    expect_echo(r[1], 10, "pongme 2!");
    expect_echo(r[2], 1, "fragment1fragment2fragment3fragment4fragment5");
  }
}

// ---------------------------------------------------------------- 6 UTF-8 handling

namespace {

const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

// Sends `payload` as one text message three ways: one frame, one frame per byte, and one
// frame delivered byte by byte; checks it is echoed (valid) or fails with 1007.
void check_text_payload(const std::string& payload, bool valid) {
  SCOPED_TRACE(testing::Message() << "payload of " << payload.size() << " bytes, valid " << valid);
  std::vector<std::vector<frame>> shapes;
  shapes.push_back({text(payload)});
  if (!payload.empty()) {
    std::vector<frame> per_byte;
    for (std::size_t i = 0; i < payload.size(); ++i) {
      const bool last = i + 1 == payload.size();
      per_byte.push_back(i == 0 ? text(payload.substr(0, 1), last)
                                : cont(payload.substr(i, 1), last));
    }
    shapes.push_back(per_byte);
  }
  for (const auto& frames : shapes) {
    for (delivery how : {delivery::at_once, delivery::per_byte}) {
      fuzzing_server s;
      s.send(frames, how);
      if (valid) {
        ASSERT_EQ(s.replies().size(), 1u);
        expect_echo(s.replies()[0], 1, payload);
      } else {
        expect_failed(s, 1007);
        EXPECT_EQ(s.replies().size(), 1u);
      }
    }
  }
}

}  // namespace

TEST(WsConformanceCat6Utf8, EmptyTextMessagesAndFragments) {
  // 6.1.1 empty frame, 6.1.2 three empty fragments, 6.1.3 empty fragments around text.
  fuzzing_server s;
  s.send({text("")});
  s.send({text("", false), cont("", false), cont("")});
  s.send({text("", false), cont("middle frame payload", false), cont("")});
  const auto& r = s.replies();
  ASSERT_EQ(r.size(), 3u);
  expect_echo(r[0], 1, "");
  expect_echo(r[1], 1, "");
  expect_echo(r[2], 1, "middle frame payload");
}

TEST(WsConformanceCat6Utf8, ValidTextInEveryFragmentation) {
  // 6.2.1-6.2.4, 6.5.x.
  check_text_payload("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
                     true);
  check_text_payload(kosme, true);
  check_text_payload("\xf0\x9d\x84\x9e\xf0\x9f\x98\x80", true);
}

TEST(WsConformanceCat6Utf8, InvalidTextFails1007) {
  // 6.3.1, 6.3.2: kosme followed by a surrogate.
  check_text_payload(kosme + "\xed\xa0\x80" + "edited", false);
}

TEST(WsConformanceCat6Utf8, FailsFastAcrossFragments) {
  // 6.4.1: the second fragment is invalid; the client fails before the third arrives.
  {
    fuzzing_server s;
    s.send({text(kosme, false), cont("\xf4\x90\x80\x80", false)});
    expect_failed(s, 1007);
  }
  // 6.4.2: the invalid byte is alone in the second fragment.
  {
    fuzzing_server s;
    s.send({text(kosme + "\xf4", false), cont("\x90", false)});
    expect_failed(s, 1007);
  }
}

TEST(WsConformanceCat6Utf8, FailsFastInsideAFrameBeforeItsEnd) {
  // 6.4.3, 6.4.4: one frame whose payload trickles in; failure at the impossible byte.
  for (const std::string bad : {"\xf4\x90", "\xed\xa0"}) {
    const std::string payload = kosme + bad + "\x80\x80" + "edited";
    const std::string bytes = wire(text(payload));
    const std::size_t bad_at = bytes.size() - payload.size() + kosme.size() + 1;
    fuzzing_server s;
    s.send_raw(std::string_view(bytes).substr(0, bad_at));
    EXPECT_TRUE(s.events.empty()) << "still valid before the impossible byte";
    s.send_raw(std::string_view(bytes).substr(bad_at, 1));
    expect_failed(s, 1007);
  }
}

TEST(WsConformanceCat6Utf8, KosmeSplitIntoTwoFragmentsAtEveryByte) {
  // 6.6.x.
  for (std::size_t cut = 0; cut <= kosme.size(); ++cut) {
    fuzzing_server s;
    s.send({text(kosme.substr(0, cut), false), cont(kosme.substr(cut))});
    ASSERT_EQ(s.replies().size(), 1u) << cut;
    expect_echo(s.replies()[0], 1, kosme);
  }
}

TEST(WsConformanceCat6Utf8, BoundaryAndMalformedSequencesTable) {
  // 6.7-6.22, after Markus Kuhn's UTF-8 decoder stress test.
  struct sample {
    std::string bytes;
    bool valid;
  };
  const std::vector<sample> table = {
      // First and last code points of each sequence length (6.7, 6.8 and 6.9 regions).
      {std::string(1, '\0'), true},
      {"\x7f", true},
      {"\xc2\x80", true},
      {"\xdf\xbf", true},
      {"\xe0\xa0\x80", true},
      {"\xef\xbf\xbf", true},
      {"\xf0\x90\x80\x80", true},
      {"\xf4\x8f\xbf\xbf", true},
      // Other boundaries.
      {"\xed\x9f\xbf", true},
      {"\xee\x80\x80", true},
      {"\xef\xbf\xbd", true},
      {"\xf4\x90\x80\x80", false},  // U+110000
      // 5- and 6-byte forms (6.8).
      {"\xf8\x88\x80\x80\x80", false},
      {"\xfc\x84\x80\x80\x80\x80", false},
      {"\xf7\xbf\xbf\xbf", false},
      // Unexpected continuation bytes (6.10).
      {"\x80", false},
      {"\xbf", false},
      {"\x80\xbf", false},
      {"\x80\xbf\x80\xbf", false},
      // Lonely start characters (6.11, 6.12).
      {"\xc0 ", false},
      {"\xe0 ", false},
      {"\xf0 ", false},
      {"\xf8 ", false},
      {"\xfc ", false},
      // Sequences missing their last byte (6.13-6.15).
      {"\xc0", false},
      {"\xe0\x80", false},
      {"\xdf", false},
      {"\xef\xbf", false},
      {"\xf7\xbf\xbf", false},
      {"\xc3", false},
      {"\xe2\x82", false},
      {"\xf0\x9f\x98", false},
      // Impossible bytes (6.16).
      {"\xfe", false},
      {"\xff", false},
      {"\xfe\xfe\xff\xff", false},
      // Overlong ASCII and maximum overlongs (6.17, 6.18, 6.19).
      {"\xc0\xaf", false},
      {"\xe0\x80\xaf", false},
      {"\xf0\x80\x80\xaf", false},
      {"\xc1\xbf", false},
      {"\xe0\x9f\xbf", false},
      {"\xf0\x8f\xbf\xbf", false},
      {"\xc0\x80", false},
      // Single and paired UTF-16 surrogates (6.20, 6.21).
      {"\xed\xa0\x80", false},
      {"\xed\xad\xbf", false},
      {"\xed\xae\x80", false},
      {"\xed\xaf\xbf", false},
      {"\xed\xb0\x80", false},
      {"\xed\xbe\x80", false},
      {"\xed\xbf\xbf", false},
      {"\xed\xa0\x80\xed\xb0\x80", false},
      {"\xed\xaf\xbf\xed\xbf\xbf", false},
      // Noncharacters are valid UTF-8 (6.22).
      {"\xef\xbf\xbe", true},
      {"\xef\xb7\x90", true},
      {"\xf0\x9f\xbf\xbe", true},
      {"\xf4\x8f\xbf\xbe", true},
  };
  for (const auto& [bytes, valid] : table) {
    check_text_payload(bytes, valid);
    check_text_payload("ascii before " + bytes + " and after", valid);
  }
}

TEST(WsConformanceCat6Utf8, BinaryMessagesAreNotValidated) {
  fuzzing_server s;
  s.send({binary("\xff\xfe\xed\xa0\x80")});
  ASSERT_EQ(s.replies().size(), 1u);
  expect_echo(s.replies()[0], 2, "\xff\xfe\xed\xa0\x80");
}

// ---------------------------------------------------------------- 7 Close handling

TEST(WsConformanceCat7Close, MessageThenCloseIsEchoedThenClosed) {
  // 7.1.1.
  fuzzing_server s;
  s.send({text("Hello World!"), close_with(1000)});
  const auto& r = s.replies();
  ASSERT_EQ(r.size(), 2u);
  expect_echo(r[0], 1, "Hello World!");
  EXPECT_EQ(r[1].opcode, 8);
  EXPECT_EQ(close_code_of(r[1]), 1000);
  EXPECT_EQ(s.client.current_state(), ws::state::close_received);
  EXPECT_TRUE(s.client.wants_tcp_close());
  EXPECT_EQ(std::get<ws::close_received>(s.events.back()).close.code, 1000);
}

TEST(WsConformanceCat7Close, NothingAfterTheCloseFrameIsProcessed) {
  // 7.1.2 second close, 7.1.3 ping after close, 7.1.4 text after close.
  for (const frame& after : {close_with(1000), make(9, "ping"), text("text")}) {
    for (delivery how : all_deliveries) {
      fuzzing_server s;
      s.send({close_with(1000), after}, how);
      const auto& r = s.replies();
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0].opcode, 8);
      ASSERT_EQ(s.events.size(), 1u);
      EXPECT_EQ(s.events[0].index(), k_close);
    }
  }
}

TEST(WsConformanceCat7Close, CloseInsideAFragmentedMessage) {
  // 7.1.5: fragment 1, close, fragment 2: the message is never completed or echoed.
  fuzzing_server s;
  s.send({text("fragment1", false), close_with(1000), cont("fragment2")});
  const auto& r = s.replies();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode, 8);
  EXPECT_TRUE(s.messages.empty());
}

TEST(WsConformanceCat7Close, LargeMessageCloseAndPingInOneBurst) {
  // 7.1.6: 256 KiB text, a close and a ping in one write: the echo and the close go back, the
  // ping after the close is ignored.
  const std::string big = pattern(256 * 1024);
  {
    fuzzing_server s;
    s.send({text(big), close_with(1000), make(9, "ping")});
    const auto& r = s.replies();
    ASSERT_EQ(r.size(), 2u);
    expect_echo(r[0], 1, big);
    EXPECT_EQ(r[1].opcode, 8);
  }
  // With the ping before the close, the replies keep the order of the frames.
  {
    fuzzing_server s;
    s.send({text(big), make(9, "ping"), close_with(1000)});
    const auto& r = s.replies();
    ASSERT_EQ(r.size(), 3u);
    expect_echo(r[0], 1, big);
    expect_echo(r[1], 10, "ping");
    EXPECT_EQ(r[2].opcode, 8);
  }
}

TEST(WsConformanceCat7Close, ClosePayloadForms) {
  // 7.3.1 empty: echoed empty, reported as 1005.
  {
    fuzzing_server s;
    s.send({close_frame("")});
    ASSERT_EQ(s.replies().size(), 1u);
    EXPECT_TRUE(s.replies()[0].payload.empty());
    EXPECT_EQ(std::get<ws::close_received>(s.events.back()).close,
              (courier::ws::close_event{1005, ""}));
  }
  // 7.3.2 one byte: protocol error.
  {
    fuzzing_server s;
    s.send({close_frame("\x03")});
    expect_failed(s, 1002);
  }
  // 7.3.3 code only, 7.3.4 code and reason, 7.3.5 the longest reason (123 bytes).
  for (const std::string& reason : {std::string(), std::string("Hello World!"), pattern(123)}) {
    fuzzing_server s;
    s.send({close_with(1000, reason)});
    ASSERT_EQ(s.replies().size(), 1u);
    EXPECT_EQ(close_code_of(s.replies()[0]), 1000);
    EXPECT_EQ(std::get<ws::close_received>(s.events.back()).close,
              (courier::ws::close_event{1000, reason}));
  }
  // 7.3.6 a 124-byte reason makes a 126-byte control frame.
  {
    fuzzing_server s;
    s.send({close_with(1000, pattern(124))});
    expect_failed(s, 1002);
  }
}

TEST(WsConformanceCat7Close, CloseReasonMustBeUtf8) {
  // 7.5.1.
  fuzzing_server s;
  s.send({close_with(1000, kosme + "\xed\xa0\x80" + "edited")});
  expect_failed(s, 1007);
}

TEST(WsConformanceCat7Close, ValidCloseCodesAreEchoed) {
  // 7.7.1-7.7.13.
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                             3000, 3999, 4000, 4999}) {
    fuzzing_server s;
    s.send({close_with(code)});
    ASSERT_EQ(s.replies().size(), 1u) << code;
    EXPECT_EQ(close_code_of(s.replies()[0]), code);
    EXPECT_EQ(std::get<ws::close_received>(s.events.back()).close.code, code);
  }
}

TEST(WsConformanceCat7Close, InvalidCloseCodesFail1002) {
  // 7.9.1-7.9.9 and 7.13.1-7.13.2.
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    fuzzing_server s;
    s.send({close_with(code == 1005 ? 1000 : code)});
    if (code == 1005) {  // frame::close(1005) means "no payload"; build that code by hand
      s = fuzzing_server();
      s.send({close_frame(std::string("\x03\xed", 2))});
    }
    SCOPED_TRACE(code);
    expect_failed(s, 1002);
  }
}

TEST(WsConformanceCat7Close, ClientInitiatedCloseHandshake) {
  fuzzing_server s;
  s.client.send_close(1000, "done");
  EXPECT_EQ(s.client.current_state(), ws::state::closing);
  s.send({text("in flight"), close_with(1000)});
  EXPECT_EQ(s.client.current_state(), ws::state::closed);
  EXPECT_TRUE(s.client.wants_tcp_close());
  const auto& r = s.replies();
  ASSERT_EQ(r.size(), 1u);  // no echo after our close, and no second close
  EXPECT_EQ(r[0].payload, std::string("\x03\xe8"
                                      "done",
                                      6));
  EXPECT_EQ(s.messages.size(), 1u);  // the in-flight message was still delivered
}

// ---------------------------------------------------------------- 9 Limits and performance

TEST(WsConformanceCat9Limits, LargeMessagesInOneFrameAndChoppedReads) {
  // 9.1.x / 9.2.x (sizes cut down to keep the suite fast) and 9.5.x / 9.6.x (chop sizes).
  for (std::size_t size : {std::size_t{64} << 10, std::size_t{256} << 10, std::size_t{1} << 20}) {
    for (std::size_t chop : {std::size_t{0}, std::size_t{65536}, std::size_t{1000}}) {
      for (std::uint8_t op : {1, 2}) {
        fuzzing_server s;
        const std::string payload = op == 1 ? pattern(size, 5) : random_bytes(size, 9);
        s.send_raw(wire(make(op, payload)), chop);
        ASSERT_EQ(s.replies().size(), 1u);
        expect_echo(s.replies()[0], op, payload);
      }
    }
  }
}

TEST(WsConformanceCat9Limits, LargeFragmentedMessages) {
  // 9.3.x / 9.4.x: 1 MiB in fragments of 64 bytes to the whole message.
  const std::string payload = pattern(std::size_t{1} << 20, 11);
  for (std::size_t fragment : {64u, 256u, 1024u, 4096u, 16384u, 65536u, 262144u, 1048576u}) {
    std::string bytes;
    for (std::size_t at = 0; at < payload.size(); at += fragment) {
      const bool last = at + fragment >= payload.size();
      bytes += wire(at == 0 ? text(payload.substr(at, fragment), last)
                            : cont(payload.substr(at, fragment), last));
    }
    fuzzing_server s;
    s.send_raw(bytes, 65536);
    ASSERT_EQ(s.replies().size(), 1u) << fragment;
    expect_echo(s.replies()[0], 1, payload);
  }
}

TEST(WsConformanceCat9Limits, ManySmallMessagesInOneRead) {
  // 9.7.x / 9.8.x: round trips of many small messages, here 1000 in one burst.
  std::string bytes;
  for (int i = 0; i < 1000; ++i)
    bytes += wire(i % 2 ? binary(pattern(16, i)) : text(pattern(16, i)));
  fuzzing_server s;
  s.send_raw(bytes);
  const auto& r = s.replies();
  ASSERT_EQ(r.size(), 1000u);
  for (int i = 0; i < 1000; ++i)
    expect_echo(r[i], i % 2 ? 2 : 1, pattern(16, i));
}

TEST(WsConformanceCat9Limits, MessageOverTheLimitFails1009BeforeItIsBuffered) {
  ws::connection_options o;
  o.max_message_size = 1 << 20;
  {
    fuzzing_server s(o);
    s.send({binary(std::string(1 << 20, 'x'))});  // at the limit: fine
    EXPECT_EQ(s.replies().size(), 1u);
  }
  {
    // One frame over the limit: only its header is needed to fail.
    fuzzing_server s(o);
    const std::string bytes = wire(binary(std::string((1 << 20) + 1, 'x')));
    s.send_raw(std::string_view(bytes).substr(0, 10));
    expect_failed(s, 1009);
  }
  {
    // Fragments adding up past the limit.
    fuzzing_server s(o);
    s.send({text(std::string(600000, 'a'), false), cont(std::string(600000, 'b'))});
    expect_failed(s, 1009);
  }
}

// ---------------------------------------------------------------- 10 Auto-fragmentation

TEST(WsConformanceCat10Fragmentation, MessageFragmentedBy1300BytesEitherWay) {
  // 10.1.1: a 64 KiB text message; received in 1300-byte frames, and sent back fragmented.
  const std::string payload = pattern(65536, 21);
  std::vector<frame> frames;
  for (std::size_t at = 0; at < payload.size(); at += 1300) {
    const bool last = at + 1300 >= payload.size();
    frames.push_back(at == 0 ? text(payload.substr(at, 1300), last)
                             : cont(payload.substr(at, 1300), last));
  }
  fuzzing_server s;
  s.send(frames, delivery::per_frame);
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_TRUE(s.messages[0] == payload);
  EXPECT_EQ(s.count_events_of_kind(k_data), frames.size());

  // The client fragments its own copy the same way.
  ws::connection c;
  for (std::size_t i = 0; i < frames.size(); ++i)
    c.send(frames[i], i != 0);
  std::string_view out = c.pending_output();
  std::string reassembled;
  std::size_t count = 0;
  while (!out.empty()) {
    auto f = ws::decode_frame(out);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->header.opcode, count == 0 ? 1 : 0);
    EXPECT_EQ(f->header.fin, count + 1 == frames.size());
    reassembled += f->payload;
    out.remove_prefix(f->wire_size);
    ++count;
  }
  EXPECT_EQ(count, frames.size());
  EXPECT_TRUE(reassembled == payload);
}

// ---------------------------------------------------------------- 12, 13 Compression

namespace {

// The server's zlib streams, with the exact window sizes negotiated (so a client compressor
// that used a larger window than agreed would fail here).
class server_codec {
 public:
  server_codec(const ws::deflate_params& p) : params_(p) {
    deflateInit2(&def_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -std::max(p.server_max_window_bits, 9),
                 8, Z_DEFAULT_STRATEGY);
    inflateInit2(&inf_, -p.client_max_window_bits);
  }
  ~server_codec() {
    deflateEnd(&def_);
    inflateEnd(&inf_);
  }
  server_codec(const server_codec&) = delete;
  server_codec& operator=(const server_codec&) = delete;

  std::string compress(std::string_view msg) {
    std::string out(msg.size() + msg.size() / 100 + 64, '\0');
    def_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(msg.data()));
    def_.avail_in = static_cast<uInt>(msg.size());
    def_.next_out = reinterpret_cast<Bytef*>(out.data());
    def_.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&def_, Z_SYNC_FLUSH), Z_OK);
    EXPECT_NE(def_.avail_out, 0u);
    out.resize(out.size() - def_.avail_out);
    EXPECT_EQ(out.substr(out.size() - 4), std::string("\x00\x00\xff\xff", 4));
    out.resize(out.size() - 4);
    if (params_.server_no_context_takeover) deflateReset(&def_);
    return out;
  }

  // Decompresses one whole message the client sent; nullopt if it is not valid for the
  // negotiated window and context.
  std::optional<std::string> decompress(std::string payload) {
    payload += std::string("\x00\x00\xff\xff", 4);
    inf_.next_in = reinterpret_cast<Bytef*>(payload.data());
    inf_.avail_in = static_cast<uInt>(payload.size());
    // Output in small steps: zlib only checks distances against its window for bytes that
    // left the current output buffer, so big steps would hide a too-large window.
    std::string out;
    char step[64];
    for (int guard = 0; guard < (1 << 22); ++guard) {
      inf_.next_out = reinterpret_cast<Bytef*>(step);
      inf_.avail_out = sizeof step;
      const int rc = inflate(&inf_, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR) return std::nullopt;
      out.append(step, sizeof step - inf_.avail_out);
      if (inf_.avail_in == 0 && inf_.avail_out != 0) break;
    }
    if (params_.client_no_context_takeover) inflateReset(&inf_);
    return out;
  }

 private:
  ws::deflate_params params_;
  z_stream def_{};
  z_stream inf_{};
};

// Runs Autobahn 12/13 style: the server sends compressed messages, the client echoes each one
// compressed, and the server checks what it gets back with its own (strict) decompressor.
void run_compression_case(const ws::deflate_params& params, std::size_t size, bool binary_data,
                          std::size_t fragment, int messages) {
  SCOPED_TRACE(testing::Message() << "size " << size << " fragment " << fragment << " window c/s "
                                  << params.client_max_window_bits << "/"
                                  << params.server_max_window_bits << " nct c/s "
                                  << params.client_no_context_takeover << "/"
                                  << params.server_no_context_takeover);
  ws::connection_options o;
  o.deflate = params;
  fuzzing_server s(o);
  server_codec server(params);
  std::mt19937 rng(static_cast<unsigned>(size + fragment));
  std::vector<std::string> sent;
  for (int m = 0; m < messages; ++m) {
    std::string msg(size, '\0');
    // Compressible but not trivial: words from a small alphabet, or bytes with structure.
    for (std::size_t i = 0; i < size; ++i) {
      msg[i] =
          binary_data ? static_cast<char>((rng() % 16) * (i % 7)) : "abcdefgh xyz\n"[rng() % 13];
    }
    const std::string compressed = server.compress(msg);
    std::vector<frame> frames;
    const std::size_t step = fragment == 0 ? std::max<std::size_t>(compressed.size(), 1) : fragment;
    for (std::size_t at = 0; at == 0 || at < compressed.size(); at += step) {
      const bool last = at + step >= compressed.size();
      frame f = at == 0 ? make(binary_data ? 2 : 1, compressed.substr(at, step), last)
                        : cont(compressed.substr(at, step), last);
      f.rsv1 = at == 0;  // only the first frame of a compressed message
      frames.push_back(std::move(f));
    }
    s.send(frames);
    sent.push_back(std::move(msg));
  }
  ASSERT_EQ(s.messages.size(), sent.size());
  const auto& r = s.replies();
  ASSERT_EQ(r.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_TRUE(s.messages[i] == sent[i]) << "message " << i << " decompressed wrongly";
    EXPECT_TRUE(r[i].rsv1) << "the echo is compressed";
    EXPECT_EQ(r[i].opcode, binary_data ? 2 : 1);
    const auto back = server.decompress(r[i].payload);
    ASSERT_TRUE(back.has_value()) << "the server cannot decompress echo " << i;
    EXPECT_TRUE(*back == sent[i]) << "echo " << i;
  }
}

}  // namespace

TEST(WsConformanceCat12Compression, MessagesOfManySizesRoundTrip) {
  // 12.1.x-12.5.x: sizes 16 B to 128 KiB, text and binary, whole and fragmented.
  for (std::size_t size : {16u, 64u, 256u, 1024u, 4096u, 8192u, 16384u, 32768u, 65536u, 131072u}) {
    for (bool binary_data : {false, true}) {
      run_compression_case({}, size, binary_data, 0, 10);
      run_compression_case({}, size, binary_data, 256, 3);
    }
  }
}

TEST(WsConformanceCat13CompressionParameters, EveryNegotiatedCombinationRoundTrips) {
  // 13.1-13.7: context takeover on and off on each side, windows 8, 9 and 15.
  for (bool client_nct : {false, true}) {
    for (bool server_nct : {false, true}) {
      for (int client_bits : {8, 9, 15}) {
        for (int server_bits : {8, 9, 15}) {
          const ws::deflate_params p{client_nct, server_nct, client_bits, server_bits};
          run_compression_case(p, 4096, false, 0, 5);
          run_compression_case(p, 300, true, 64, 3);
        }
      }
    }
  }
}

TEST(WsConformanceCat13CompressionParameters, WindowEightOutputFitsA256ByteWindow) {
  // zlib runs an 8-bit window as 9; its distances must still fit the peer's 256 bytes. Data
  // with repeats just over 256 bytes apart would expose a larger distance.
  ws::deflate_params p;
  p.client_max_window_bits = 8;
  p.client_no_context_takeover = true;
  ws::connection_options o;
  o.deflate = p;
  ws::connection c(o);
  server_codec server(p);
  std::string msg;
  const std::string block = random_bytes(300, 77);
  for (int i = 0; i < 20; ++i)
    msg += block;
  c.send(frame::binary(msg));
  auto f = ws::decode_frame(c.pending_output());
  ASSERT_TRUE(f);
  const auto back = server.decompress(f->payload);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(*back == msg);
}

TEST(WsConformanceCat12Compression, CompressedFragmentsWithPingBetween) {
  ws::connection_options o;
  o.deflate = ws::deflate_params{};
  fuzzing_server s(o);
  server_codec server(*o.deflate);
  const std::string compressed = server.compress("Hello, compressed world!");
  frame first = text(compressed.substr(0, 5), false);
  first.rsv1 = true;
  s.send({first, make(9, "p"), cont(compressed.substr(5))});
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_EQ(s.messages[0], "Hello, compressed world!");
  EXPECT_EQ(s.replies().at(0).opcode, 10);
}

TEST(WsConformanceCat12Compression, Rsv1OnContinuationOrControlFails1002) {
  ws::connection_options o;
  o.deflate = ws::deflate_params{};
  {
    fuzzing_server s(o);
    frame second = cont("x");
    second.rsv1 = true;
    s.send({text("a", false), second});
    expect_failed(s, 1002);
  }
  {
    fuzzing_server s(o);
    frame ping = make(9, "x");
    ping.rsv1 = true;
    s.send({ping});
    expect_failed(s, 1002);
  }
}

TEST(WsConformanceCat12Compression, InvalidUtf8InsideACompressedTextMessageFails1007) {
  ws::connection_options o;
  o.deflate = ws::deflate_params{};
  fuzzing_server s(o);
  server_codec server(*o.deflate);
  frame f = text(server.compress(kosme + "\xed\xa0\x80" + "edited"));
  f.rsv1 = true;
  s.send({f});
  expect_failed(s, 1007);
}
