// The HTTP/2 client core against a hostile server whose frames are built here byte by byte:
// malformed responses, frames a client must refuse, and floods. Each ends in the error
// docs/http2.md documents, and the memory held stays bounded.
#include "proto/http2/client_connection.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace h2 = courier::proto::http2;

enum : std::uint8_t {
  DATA = 0,
  HEADERS = 1,
  SETTINGS = 4,
  PUSH_PROMISE = 5,
  PING = 6,
  GOAWAY = 7,
  CONTINUATION = 9
};
enum : std::uint8_t { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4 };

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  const std::string& payload) {
  std::string f;
  const auto n = static_cast<std::uint32_t>(payload.size());
  f += static_cast<char>(n >> 16);
  f += static_cast<char>(n >> 8);
  f += static_cast<char>(n);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  for (int shift : {24, 16, 8, 0})
    f += static_cast<char>((stream >> shift) & 0xff);
  return f + payload;
}

// An HPACK integer with an n-bit prefix whose high bits are `first` (RFC 7541 5.1).
std::string hpack_int(std::uint8_t first, int prefix_bits, std::size_t value) {
  const std::size_t max = (std::size_t{1} << prefix_bits) - 1;
  std::string s;
  if (value < max) {
    s += static_cast<char>(first | value);
    return s;
  }
  s += static_cast<char>(first | max);
  value -= max;
  while (value >= 128) {
    s += static_cast<char>(0x80 | (value & 0x7f));
    value >>= 7;
  }
  s += static_cast<char>(value);
  return s;
}

// A literal field, not indexed (0000 prefix), or with incremental indexing (01 prefix).
std::string literal(const std::string& name, const std::string& value, bool index = false) {
  return (index ? hpack_int(0x40, 6, 0) : hpack_int(0x00, 4, 0)) + hpack_int(0, 7, name.size()) +
         name + hpack_int(0, 7, value.size()) + value;
}

const std::string status_200 = "\x88";  // static table index 8

// A client with one request submitted and its output taken, and the server's SETTINGS in.
struct fixture {
  h2::client_connection client;
  h2::stream_id id;
  std::vector<h2::event> events;

  explicit fixture(h2::connection_options options = {}, bool settings_acknowledged = true)
      : client(options) {
    h2::request_head head;
    head.scheme = "http";
    head.authority = "example.test";
    id = client.submit_request(head);
    EXPECT_EQ(id, 1);
    EXPECT_FALSE(client.take_output().empty());
    feed(frame(SETTINGS, 0, 0, "") + (settings_acknowledged ? frame(SETTINGS, ACK, 0, "") : ""));
  }

  void feed(const std::string& bytes) {
    client.receive(bytes);
    for (int i = 0; i < 100000; ++i) {
      auto e = client.next_event();
      if (!e) return;
      events.push_back(std::move(*e));
    }
    ADD_FAILURE() << "endless events";
  }

  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& e : events)
      if (auto* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
  }

  std::optional<h2::stream_reset_event> reset() const {
    auto r = all<h2::stream_reset_event>();
    if (r.size() != 1) return std::nullopt;
    return r[0];
  }

  // The error code of the GOAWAY in the client's output, if it wrote one.
  std::optional<std::uint32_t> goaway_sent() {
    const std::string out = client.take_output();
    for (std::size_t at = 0; at + 9 <= out.size();) {
      const std::size_t len = (std::size_t(std::uint8_t(out[at])) << 16) |
                              (std::size_t(std::uint8_t(out[at + 1])) << 8) |
                              std::uint8_t(out[at + 2]);
      if (out[at + 3] == GOAWAY && len >= 8 && at + 9 + len <= out.size()) {
        std::uint32_t code = 0;
        for (int i = 0; i < 4; ++i)
          code = (code << 8) | std::uint8_t(out[at + 9 + 4 + i]);
        return code;
      }
      at += 9 + len;
    }
    return std::nullopt;
  }

  // The connection still works: a second request gets its answer.
  void expect_connection_usable() {
    h2::request_head head;
    head.scheme = "http";
    head.authority = "example.test";
    const auto next = client.submit_request(head);
    client.take_output();
    feed(frame(HEADERS, END_HEADERS | END_STREAM, next, status_200));
    bool ended = false;
    for (const auto& e : events)
      if (auto* p = std::get_if<h2::end_of_stream_event>(&e); p && p->stream == next) ended = true;
    EXPECT_TRUE(ended);
  }
};

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

TEST(Http2HostileServer, UppercaseHeaderNameIsAStreamProtocolError) {
  fixture f;
  f.feed(frame(HEADERS, END_HEADERS, 1, status_200 + literal("X-Upper", "a")));
  auto r = f.reset();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->protocol_violation);
  EXPECT_FALSE(r->by_peer);
  EXPECT_EQ(r->code_name, "PROTOCOL_ERROR");
  expect_contains(r->message, "HTTP/2 stream 1: the server sent a malformed header field");
  EXPECT_TRUE(f.all<h2::response_head_event>().empty());
  f.expect_connection_usable();
}

TEST(Http2HostileServer, ConnectionSpecificHeaderIsAStreamProtocolError) {
  fixture f;
  f.feed(frame(HEADERS, END_HEADERS, 1, status_200 + literal("connection", "close")));
  auto r = f.reset();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->protocol_violation);
  EXPECT_EQ(r->code_name, "PROTOCOL_ERROR");
  f.expect_connection_usable();
}

TEST(Http2HostileServer, MissingStatusIsAStreamProtocolError) {
  fixture f;
  f.feed(frame(HEADERS, END_HEADERS | END_STREAM, 1, literal("x-a", "b")));
  auto r = f.reset();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->protocol_violation);
  EXPECT_TRUE(f.all<h2::end_of_stream_event>().empty());
}

TEST(Http2HostileServer, ContentLengthThatDisagreesWithTheDataIsAStreamProtocolError) {
  fixture f;
  f.feed(frame(HEADERS, END_HEADERS, 1, status_200 + literal("content-length", "10")));
  ASSERT_EQ(f.all<h2::response_head_event>().size(), 1u);
  f.feed(frame(DATA, END_STREAM, 1, "abc"));
  auto r = f.reset();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->protocol_violation);
  expect_contains(r->message, "content-length");
  EXPECT_TRUE(f.all<h2::end_of_stream_event>().empty());
  f.expect_connection_usable();
}

TEST(Http2HostileServer, DataFramesUpToTheAdvertisedMaxFrameSizeAreTaken) {
  h2::connection_options options;
  fixture f(options);
  f.feed(frame(HEADERS, END_HEADERS, 1, status_200));
  const std::string body(options.max_frame_size, 'x');
  f.feed(frame(DATA, END_STREAM, 1, body));
  std::size_t received = 0;
  for (const auto& d : f.all<h2::data_event>())
    received += d.data.size();
  EXPECT_EQ(received, body.size());
  EXPECT_EQ(f.all<h2::end_of_stream_event>().size(), 1u);
  EXPECT_TRUE(f.all<h2::connection_error_event>().empty());
}

TEST(Http2HostileServer, AFrameOverTheAdvertisedMaxFrameSizeIsAConnectionError) {
  h2::connection_options options;
  options.max_frame_size = 1 << 15;
  fixture f(options);
  f.feed(frame(HEADERS, END_HEADERS, 1, status_200));
  f.feed(frame(DATA, END_STREAM, 1, std::string(options.max_frame_size + 1, 'x')));
  auto errors = f.all<h2::connection_error_event>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code_name, "FRAME_SIZE_ERROR");
  EXPECT_TRUE(errors[0].protocol_violation);
  EXPECT_EQ(f.goaway_sent(), 0x6u);
}

TEST(Http2HostileServer, PushPromiseWithPushDisabledIsAConnectionError) {
  fixture f;
  const std::string promised("\x00\x00\x00\x02", 4);
  f.feed(frame(PUSH_PROMISE, END_HEADERS, 1,
               promised + "\x82\x84\x86" + literal(":authority", "example.test")));
  auto errors = f.all<h2::connection_error_event>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code_name, "PROTOCOL_ERROR");
  EXPECT_TRUE(errors[0].protocol_violation);
  EXPECT_EQ(errors[0].failed_streams, std::vector<h2::stream_id>{1});
  expect_contains(errors[0].message, "HTTP/2 connection error PROTOCOL_ERROR (0x1)");
  expect_contains(errors[0].message, "PUSH_PROMISE");
  EXPECT_TRUE(f.client.done());
  EXPECT_FALSE(f.client.can_submit());
  // Input after the failure is ignored.
  f.feed(frame(HEADERS, END_HEADERS | END_STREAM, 1, status_200));
  EXPECT_EQ(f.events.size(), 1u);
}

TEST(Http2HostileServer, PushPromiseBeforeOurSettingsAreAcknowledgedIsRefused) {
  fixture f({}, false);
  const std::string promised("\x00\x00\x00\x02", 4);
  f.feed(frame(PUSH_PROMISE, END_HEADERS, 1,
               promised + "\x82\x84\x86" + literal(":authority", "example.test")));
  // nghttp2 refuses the promised stream 2: RST_STREAM(CANCEL) on it in the output.
  const std::string out = f.client.take_output();
  EXPECT_NE(out.find(frame(3, 0, 2, std::string("\x00\x00\x00\x08", 4))), std::string::npos);
  EXPECT_TRUE(f.events.empty());
  f.feed(frame(HEADERS, END_HEADERS | END_STREAM, 1, status_200));
  EXPECT_EQ(f.all<h2::end_of_stream_event>().size(), 1u);
  EXPECT_TRUE(f.all<h2::connection_error_event>().empty());
}

TEST(Http2HostileServer, HeaderListOverTheLimitResetsTheStream) {
  h2::connection_options options;
  options.max_header_list_size = 4096;
  fixture f(options);
  std::string block = status_200;
  for (int i = 0; i < 100; ++i)
    block += literal("x-field-" + std::to_string(i), std::string(40, 'v'));
  f.feed(frame(HEADERS, END_HEADERS | END_STREAM, 1, block));
  auto r = f.reset();
  ASSERT_TRUE(r);
  expect_contains(r->message,
                  "the server sent a response header block over the limit of 4096 bytes");
  EXPECT_TRUE(f.all<h2::response_head_event>().empty());
  f.expect_connection_usable();
}

TEST(Http2HostileServer, HpackBombIsCutAtTheHeaderListLimit) {
  fixture f;  // 64 KiB header list, 4096-byte HPACK table
  // One 4000-byte entry put in the dynamic table, then referenced 2000 times (1 byte each):
  // 8 MB of fields from 6 KB on the wire.
  std::string block = status_200 + literal("x-bomb", std::string(4000, 'b'), true);
  block += std::string(2000, '\xbe');  // indexed field 62: the newest dynamic entry
  f.feed(frame(HEADERS, END_HEADERS | END_STREAM, 1, block));
  auto r = f.reset();
  ASSERT_TRUE(r);
  expect_contains(r->message, "over the limit of 65536 bytes");
  f.expect_connection_usable();  // the HPACK state is still in step
}

TEST(Http2HostileServer, ContinuationFloodIsAConnectionError) {
  fixture f;
  std::string bytes = frame(HEADERS, 0, 1, status_200);
  for (int i = 0; i < 50; ++i)
    bytes += frame(CONTINUATION, 0, 1, literal("x-c", "d"));
  f.feed(bytes);
  auto errors = f.all<h2::connection_error_event>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code_name, "ENHANCE_YOUR_CALM");
  expect_contains(errors[0].message, "more than 8 CONTINUATION frames");
  EXPECT_EQ(errors[0].failed_streams, std::vector<h2::stream_id>{1});
  EXPECT_EQ(f.goaway_sent(), 0xbu);
}

TEST(Http2HostileServer, PingFloodIsAConnectionError) {
  h2::connection_options options;
  options.max_idle_frames = 100;
  fixture f(options);
  std::string bytes;
  for (int i = 0; i < 500; ++i)
    bytes += frame(PING, 0, 0, std::string(8, 'p'));
  f.feed(bytes);
  auto errors = f.all<h2::connection_error_event>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code_name, "ENHANCE_YOUR_CALM");
  expect_contains(errors[0].message, "more than 100 PING, SETTINGS, PRIORITY, empty DATA");
  EXPECT_EQ(f.goaway_sent(), 0xbu);
}

TEST(Http2HostileServer, PingsAnsweredAsTheyComeStillCountAsAFlood) {
  fixture f;  // the default limit, 1000
  for (int i = 0; i < 1200 && f.all<h2::connection_error_event>().empty(); ++i) {
    f.feed(frame(PING, 0, 0, std::string(8, 'p')));
    EXPECT_FALSE(f.client.take_output().empty() && f.all<h2::connection_error_event>().empty());
  }
  auto errors = f.all<h2::connection_error_event>();
  ASSERT_EQ(errors.size(), 1u);
  expect_contains(errors[0].message, "more than 1000");
}

TEST(Http2HostileServer, PingsSpreadOverTimeAreNotAFlood) {
  // A long-lived connection gets a server's keep-alive PINGs for hours: the driver forgives
  // the count as time passes, so only PINGs close together add up.
  h2::connection_options options;
  options.max_idle_frames = 100;
  fixture f(options);
  for (int second = 0; second < 20; ++second) {
    for (int i = 0; i < 90; ++i)
      f.feed(frame(PING, 0, 0, std::string(8, 'p')));
    f.client.forgive_idle_frames();
  }
  EXPECT_TRUE(f.all<h2::connection_error_event>().empty());
  EXPECT_TRUE(f.client.can_submit());
  std::string burst;
  for (int i = 0; i < 101; ++i)
    burst += frame(PING, 0, 0, std::string(8, 'p'));
  f.feed(burst);
  EXPECT_EQ(f.all<h2::connection_error_event>().size(), 1u);
}

TEST(Http2HostileServer, EmptyDataFloodIsAConnectionError) {
  h2::connection_options options;
  options.max_idle_frames = 100;
  fixture f(options);
  f.feed(frame(HEADERS, END_HEADERS, 1, status_200));
  std::string bytes;
  for (int i = 0; i < 300; ++i)
    bytes += frame(DATA, 0, 1, "");
  f.feed(bytes);
  auto errors = f.all<h2::connection_error_event>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code_name, "ENHANCE_YOUR_CALM");
  EXPECT_EQ(errors[0].failed_streams, std::vector<h2::stream_id>{1});
}

TEST(Http2HostileServer, SettingsFloodIsAConnectionError) {
  h2::connection_options options;
  options.max_idle_frames = 100;
  fixture f(options);
  std::string bytes;
  for (int i = 0; i < 300; ++i)
    bytes += frame(SETTINGS, 0, 0, "");
  f.feed(bytes);
  auto errors = f.all<h2::connection_error_event>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code_name, "ENHANCE_YOUR_CALM");
}

TEST(Http2HostileServer, UnknownFrameFloodIsAConnectionError) {
  h2::connection_options options;
  options.max_idle_frames = 100;
  fixture f(options);
  std::string bytes;
  for (int i = 0; i < 300; ++i)
    bytes += frame(0xbb, 0, 0, "xyz");  // an extension type: ignored, but counted
  f.feed(bytes);
  auto errors = f.all<h2::connection_error_event>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code_name, "ENHANCE_YOUR_CALM");
  expect_contains(errors[0].message, "unknown frames in a row");
}

TEST(Http2HostileServer, ProgressBetweenPingsIsNotAFlood) {
  h2::connection_options options;
  options.max_idle_frames = 10;
  fixture f(options);
  f.feed(frame(HEADERS, END_HEADERS, 1, status_200));
  for (int i = 0; i < 50; ++i) {
    f.feed(frame(PING, 0, 0, std::string(8, 'p')) + frame(DATA, 0, 1, "x"));
    f.client.consumed(1, 1);
    f.client.take_output();
  }
  f.feed(frame(DATA, END_STREAM, 1, ""));
  EXPECT_TRUE(f.all<h2::connection_error_event>().empty());
  EXPECT_EQ(f.all<h2::end_of_stream_event>().size(), 1u);
}

TEST(Http2HostileServer, GarbageInsteadOfAPrefaceIsAConnectionError) {
  h2::client_connection client;
  h2::request_head head;
  head.authority = "example.test";
  client.submit_request(head);
  client.take_output();
  client.receive("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  auto e = client.next_event();
  ASSERT_TRUE(e);
  auto* err = std::get_if<h2::connection_error_event>(&*e);
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->protocol_violation);
  EXPECT_EQ(err->failed_streams, std::vector<h2::stream_id>{1});
  expect_contains(err->message, "does not speak HTTP/2 here? it began with \"HTTP/1.1 400 Bad\"");
  EXPECT_TRUE(client.done());
}

TEST(Http2HostileServer, DataBeyondTheStreamWindowIsNamedInTheReset) {
  h2::connection_options options;
  options.stream_window = 16384;
  fixture f(options);
  f.feed(frame(HEADERS, END_HEADERS, 1, status_200));
  f.feed(frame(DATA, 0, 1, std::string(16384, 'a')) + frame(DATA, 0, 1, std::string(100, 'b')));
  auto r = f.reset();
  ASSERT_TRUE(r);
  expect_contains(r->message, "the server sent more DATA than the stream's flow-control window");
  expect_contains(r->message, "FLOW_CONTROL_ERROR");
  f.expect_connection_usable();
}

TEST(Http2HostileServer, ClosingMidStreamAfterAGoawayNamesItsCodeAndDebugData) {
  fixture f;
  f.feed(frame(HEADERS, END_HEADERS, 1, status_200) + frame(DATA, 0, 1, "half"));
  const std::string last_stream_and_code("\x00\x00\x00\x01\x00\x00\x00\x01", 8);
  f.feed(frame(GOAWAY, 0, 0, last_stream_and_code + "bye\x01"));
  f.client.receive_eof();
  f.feed("");
  auto errors = f.all<h2::connection_error_event>();
  ASSERT_EQ(errors.size(), 1u);
  expect_contains(errors[0].message,
                  "with 1 stream(s) in flight after its GOAWAY PROTOCOL_ERROR (0x1): bye.");
}

}  // namespace
