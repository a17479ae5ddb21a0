// The HTTP/1.1 response parser: bytes in, events out, whatever the split of the bytes.
#include "proto/http1/response_parser.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace http1 = courier::proto::http1;

// What a backend would build from the events of one response.
struct parsed {
  int heads = 0;
  int ends = 0;
  http1::head_event head;
  std::string body;
  std::size_t body_events = 0;
  http1::end_event end;
  std::size_t consumed = 0;  // bytes of the input the parser consumed
  bool done = false;
};

void drain(http1::response_parser& parser, parsed& out) {
  for (int guard = 0; guard < 1'000'000; ++guard) {
    auto ev = parser.next_event();
    if (!ev) return;
    if (auto* head = std::get_if<http1::head_event>(&*ev)) {
      ++out.heads;
      out.head = std::move(*head);
    } else if (auto* body = std::get_if<http1::body_event>(&*ev)) {
      ASSERT_EQ(out.ends, 0) << "body after the end";
      ASSERT_EQ(out.heads, 1) << "body before the head";
      ++out.body_events;
      out.body.append(body->data);
    } else {
      ++out.ends;
      out.end = std::get<http1::end_event>(std::move(*ev));
    }
  }
  FAIL() << "too many events";
}

// Feeds `input` cut at each of `cuts` (increasing offsets), the way a socket reader would: it keeps
// the bytes the parser did not consume and offers them again with the next read.
parsed parse_pieces(std::string_view input, const std::vector<std::size_t>& cuts,
                    http1::parser_options options = {}, bool eof = false) {
  http1::response_parser parser(options);
  parsed out;
  std::string unconsumed;
  std::size_t from = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t to : ends) {
    unconsumed.append(input.substr(from, to - from));
    from = to;
    std::size_t n = parser.feed(unconsumed);
    drain(parser, out);
    out.consumed += n;
    unconsumed.erase(0, n);
  }
  if (eof) {
    parser.feed_eof();
    drain(parser, out);
  }
  out.done = parser.done();
  return out;
}

parsed parse_whole(std::string_view input, http1::parser_options options = {}, bool eof = false) {
  return parse_pieces(input, {}, options, eof);
}

parsed parse_bytewise(std::string_view input, http1::parser_options options = {},
                      bool eof = false) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < input.size(); ++i)
    cuts.push_back(i);
  return parse_pieces(input, cuts, options, eof);
}

void expect_same(const parsed& a, const parsed& b, const std::string& context) {
  SCOPED_TRACE(context);
  EXPECT_EQ(a.heads, b.heads);
  EXPECT_EQ(a.ends, b.ends);
  EXPECT_EQ(a.head.status, b.head.status);
  EXPECT_EQ(a.head.reason, b.head.reason);
  EXPECT_EQ(a.head.headers, b.head.headers);
  EXPECT_EQ(a.head.keep_alive, b.head.keep_alive);
  EXPECT_EQ(a.head.content_length, b.head.content_length);
  EXPECT_EQ(a.head.chunked, b.head.chunked);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(a.end.keep_alive, b.end.keep_alive);
  EXPECT_EQ(a.end.trailers, b.end.trailers);
  EXPECT_EQ(a.consumed, b.consumed);
  EXPECT_EQ(a.done, b.done);
}

// The same result whole, byte by byte, and cut in two at every offset.
void expect_split_invariant(std::string_view input, http1::parser_options options = {},
                            bool eof = false) {
  const parsed whole = parse_whole(input, options, eof);
  expect_same(whole, parse_bytewise(input, options, eof), "byte by byte");
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    expect_same(whole, parse_pieces(input, {cut}, options, eof), "cut at " + std::to_string(cut));
  }
}

template <class Error>
std::string error_of(std::string_view input, const std::vector<std::size_t>& cuts = {},
                     http1::parser_options options = {}) {
  try {
    parse_pieces(input, cuts, options);
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

constexpr std::string_view content_length_response =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 11\r\n"
    "\r\n"
    "hello world";

constexpr std::string_view chunked_response =
    "HTTP/1.1 200 OK\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Trailer: Expires, X-Checksum\r\n"
    "\r\n"
    "5;name=value\r\n"
    "hello\r\n"
    "6;quoted=\"a b\";flag\r\n"
    " world\r\n"
    "0\r\n"
    "Expires: never\r\n"
    "X-Checksum: abc123\r\n"
    "\r\n";

TEST(Http1ResponseParser, ContentLengthBody) {
  parsed r = parse_whole(content_length_response);
  EXPECT_EQ(r.heads, 1);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.reason, "OK");
  ASSERT_EQ(r.head.headers.size(), 2u);
  EXPECT_EQ(r.head.headers.get("content-type"), "text/plain");
  EXPECT_EQ(r.head.content_length, 11u);
  EXPECT_FALSE(r.head.chunked);
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_EQ(r.body, "hello world");
  EXPECT_EQ(r.ends, 1);
  EXPECT_TRUE(r.end.keep_alive);
  EXPECT_EQ(r.consumed, content_length_response.size());
  EXPECT_TRUE(r.done);
}

TEST(Http1ResponseParser, ContentLengthAnySplit) {
  expect_split_invariant(content_length_response);
}

TEST(Http1ResponseParser, ChunkedWithExtensionsAndTrailers) {
  parsed r = parse_whole(chunked_response);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_TRUE(r.head.chunked);
  EXPECT_EQ(r.head.content_length, std::nullopt);
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_EQ(r.body, "hello world");
  EXPECT_EQ(r.ends, 1);
  EXPECT_TRUE(r.end.keep_alive);
  ASSERT_EQ(r.end.trailers.size(), 2u);
  EXPECT_EQ(r.end.trailers.get("expires"), "never");
  EXPECT_EQ(r.end.trailers.get("X-Checksum"), "abc123");
  EXPECT_FALSE(r.head.headers.contains("Expires")) << "trailers are not header fields";
  EXPECT_EQ(r.consumed, chunked_response.size());
}

TEST(Http1ResponseParser, ChunkedAnySplit) {
  expect_split_invariant(chunked_response);
}

TEST(Http1ResponseParser, ChunkedHexSizesAndEmptyTrailers) {
  std::string body(0x1a2, 'x');
  std::string input =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1A2\r\n" + body + "\r\n000\r\n\r\n";
  parsed r = parse_whole(input);
  EXPECT_EQ(r.body, body);
  EXPECT_TRUE(r.end.trailers.empty());
  EXPECT_EQ(r.consumed, input.size());
}

TEST(Http1ResponseParser, CloseDelimitedBodyEndsAtEof) {
  constexpr std::string_view input =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
  http1::response_parser parser;
  parsed r;
  EXPECT_EQ(parser.feed(input), input.size());
  drain(parser, r);
  EXPECT_EQ(r.heads, 1);
  EXPECT_FALSE(r.head.keep_alive);
  EXPECT_EQ(r.head.content_length, std::nullopt);
  EXPECT_EQ(r.body, "until close");
  EXPECT_EQ(r.ends, 0);
  EXPECT_FALSE(parser.done());
  parser.feed_eof();
  drain(parser, r);
  EXPECT_EQ(r.ends, 1);
  EXPECT_FALSE(r.end.keep_alive);
  EXPECT_TRUE(parser.done());
  expect_split_invariant(input, {}, /*eof=*/true);
}

TEST(Http1ResponseParser, HeadResponseHasNoBody) {
  constexpr std::string_view input =
      "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/html\r\n\r\n";
  http1::parser_options options;
  options.expect_no_body = true;
  parsed r = parse_whole(input, options);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.headers.get("Content-Length"), "1000");
  EXPECT_EQ(r.head.content_length, 0u) << "no body follows";
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.ends, 1);
  EXPECT_TRUE(r.done);
  expect_split_invariant(input, options);

  // Without the option, the same head waits for 1000 body bytes.
  http1::response_parser parser;
  parser.feed(input);
  EXPECT_FALSE(parser.done());
}

TEST(Http1ResponseParser, NoBodyFor204And304EvenWithContentLength) {
  const std::string next = "HTTP/1.1 200 OK\r\n";
  for (std::string_view head : {std::string_view("HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n"),
                                std::string_view("HTTP/1.1 304 Not Modified\r\nContent-Length: "
                                                 "50\r\nETag: \"abc\"\r\n\r\n")}) {
    SCOPED_TRACE(head);
    std::string input = std::string(head) + next;
    parsed r = parse_whole(input);
    EXPECT_EQ(r.heads, 1);
    EXPECT_EQ(r.ends, 1);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.head.content_length, 0u);
    EXPECT_TRUE(r.end.keep_alive);
    EXPECT_EQ(r.consumed, head.size()) << "the next response's bytes stay unconsumed";
  }
}

TEST(Http1ResponseParser, InterimResponsesAreSkipped) {
  constexpr std::string_view input =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nLocation: /x\r\n\r\nok";
  parsed r = parse_whole(input);
  EXPECT_EQ(r.heads, 1);
  EXPECT_EQ(r.head.status, 201);
  EXPECT_EQ(r.head.reason, "Created");
  EXPECT_EQ(r.head.headers.get("Location"), "/x");
  EXPECT_FALSE(r.head.headers.contains("Link")) << "fields of the interim response leaked";
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.ends, 1);
  EXPECT_EQ(r.consumed, input.size());
  expect_split_invariant(input);
}

TEST(Http1ResponseParser, ContinueThenEofIsReadError) {
  http1::response_parser parser;
  EXPECT_EQ(parser.interim_responses(), 0);
  parser.feed("HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_FALSE(parser.next_event().has_value());
  EXPECT_EQ(parser.interim_responses(), 1) << "what Expect: 100-continue waits for";
  EXPECT_FALSE(parser.done());
  try {
    parser.feed_eof();
    FAIL() << "no error";
  } catch (const courier::read_error& e) {
    EXPECT_NE(std::string(e.what()).find("interim"), std::string::npos) << e.what();
  }
}

TEST(Http1ResponseParser, SwitchingProtocolsEndsAfterHead) {
  constexpr std::string_view head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  std::string input = std::string(head) + "\x81\x02hi";
  parsed r = parse_whole(input);
  EXPECT_EQ(r.head.status, 101);
  EXPECT_EQ(r.ends, 1);
  EXPECT_FALSE(r.end.keep_alive);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.consumed, head.size()) << "WebSocket bytes must stay with the caller";
}

TEST(Http1ResponseParser, RepeatedFieldsKeptInOrder) {
  constexpr std::string_view input =
      "HTTP/1.1 200 OK\r\n"
      "Set-Cookie: a=1; Path=/\r\n"
      "Content-Length: 0\r\n"
      "set-cookie: b=2\r\n"
      "Set-Cookie: c=3; HttpOnly\r\n"
      "\r\n";
  parsed r = parse_whole(input);
  auto cookies = r.head.headers.get_all("Set-Cookie");
  ASSERT_EQ(cookies.size(), 3u);
  EXPECT_EQ(cookies[0], "a=1; Path=/");
  EXPECT_EQ(cookies[1], "b=2");
  EXPECT_EQ(cookies[2], "c=3; HttpOnly");
  // Names keep the case they were sent in.
  EXPECT_EQ((r.head.headers.begin() + 2)->name, "set-cookie");
}

TEST(Http1ResponseParser, FieldValuesAreTrimmed) {
  parsed r =
      parse_whole("HTTP/1.1 200 OK\r\nX-A:   padded value \t\r\nX-B:\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.head.headers.get("X-A"), "padded value");
  EXPECT_EQ(r.head.headers.get("X-B"), "");
}

TEST(Http1ResponseParser, KeepAliveRules) {
  struct example {
    std::string_view input;
    bool keep_alive;
  };
  const example examples[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
      {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true},
  };
  for (const example& e : examples) {
    SCOPED_TRACE(e.input);
    parsed r = parse_whole(e.input);
    EXPECT_EQ(r.head.keep_alive, e.keep_alive);
    EXPECT_EQ(r.ends, 1);
    EXPECT_EQ(r.end.keep_alive, e.keep_alive);
  }
}

TEST(Http1ResponseParser, StopsAtTheEndAndResetsForTheNextResponse) {
  std::string input = std::string(content_length_response) + std::string(chunked_response);
  http1::response_parser parser;
  parsed first;
  std::size_t n = parser.feed(input);
  drain(parser, first);
  EXPECT_EQ(n, content_length_response.size());
  EXPECT_EQ(first.body, "hello world");
  EXPECT_EQ(parser.feed(std::string_view(input).substr(n)), 0u) << "done: nothing consumed";

  parser.reset({});
  EXPECT_FALSE(parser.done());
  parsed second;
  std::size_t m = parser.feed(std::string_view(input).substr(n));
  drain(parser, second);
  EXPECT_EQ(m, chunked_response.size());
  EXPECT_TRUE(second.head.chunked);
  EXPECT_EQ(second.body, "hello world");
  EXPECT_EQ(second.end.trailers.size(), 2u);
}

TEST(Http1ResponseParser, BodyStreamsWithoutCopies) {
  const std::size_t size = std::size_t{1} << 20;
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  std::string body(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    body[i] = static_cast<char>(i * 7 + i / 251);

  http1::response_parser parser;
  ASSERT_EQ(parser.feed(head), head.size());
  std::string received;
  const std::size_t read_size = 64 << 10;
  for (std::size_t at = 0; at < size; at += read_size) {
    std::string read = body.substr(at, read_size);  // what one socket read would bring
    ASSERT_EQ(parser.feed(read), read.size());
    for (int guard = 0; guard < 100; ++guard) {
      auto ev = parser.next_event();
      if (!ev) break;
      if (auto* piece = std::get_if<http1::body_event>(&*ev)) {
        // The event views the caller's buffer: the parser keeps no copy of the body.
        EXPECT_GE(piece->data.data(), read.data());
        EXPECT_LE(piece->data.data() + piece->data.size(), read.data() + read.size());
        received.append(piece->data);
      }
    }
  }
  EXPECT_TRUE(parser.done());
  EXPECT_EQ(parser.body_bytes(), size);
  EXPECT_TRUE(received == body);
}

TEST(Http1ResponseParser, ChunkedBodyCutInsideChunkLines) {
  // 300 chunks of 1000 bytes, read in pieces of 777 bytes: chunk-size lines fall across reads.
  std::string input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string body;
  for (int i = 0; i < 300; ++i) {
    std::string chunk(1000, static_cast<char>('a' + i % 26));
    body += chunk;
    input += "3e8;i=" + std::to_string(i) + "\r\n" + chunk + "\r\n";
  }
  input += "0\r\n\r\n";
  std::vector<std::size_t> cuts;
  for (std::size_t at = 777; at < input.size(); at += 777)
    cuts.push_back(at);
  parsed r = parse_pieces(input, cuts);
  EXPECT_TRUE(r.body == body);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_EQ(r.ends, 1);
}

// --- malformed input ---

TEST(Http1ResponseParser, GarbageStatusLine) {
  for (std::string_view input :
       {std::string_view("garbage\r\n\r\n"), std::string_view("HTTP/1.1 2x0 OK\r\n\r\n"),
        std::string_view("HTTP/2.0 200 OK\r\n\r\n"),
        std::string_view("SSH-2.0-OpenSSH_9.2\r\n\r\n")}) {
    SCOPED_TRACE(input);
    std::string what = error_of<courier::protocol_error>(input);
    EXPECT_NE(what.find("status line"), std::string::npos) << what;
  }
}

TEST(Http1ResponseParser, StatusCodeBelow100) {
  std::string what = error_of<courier::protocol_error>("HTTP/1.1 097 Odd\r\n\r\n");
  EXPECT_NE(what.find("invalid status code 97"), std::string::npos) << what;
  // 6xx to 9xx are three digits at least: passed on for the caller to judge.
  EXPECT_EQ(parse_whole("HTTP/1.1 599 Custom\r\nContent-Length: 0\r\n\r\n").head.status, 599);
}

TEST(Http1ResponseParser, BadChunkSize) {
  std::string what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
  EXPECT_NE(what.find("chunk"), std::string::npos) << what;
  // A size that overflows 64 bits.
  what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nx");
  EXPECT_NE(what.find("chunk"), std::string::npos) << what;
  // Data longer than the announced size.
  what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n");
  EXPECT_NE(what.find("chunk"), std::string::npos) << what;
}

TEST(Http1ResponseParser, HeaderTooLarge) {
  http1::parser_options options;
  options.max_header_size = 1024;
  std::string input = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  std::string what = error_of<courier::body_too_large>(input, {}, options);
  EXPECT_NE(what.find("1024"), std::string::npos) << what;
  // Many small fields arriving one byte at a time must hit the limit too.
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 200; ++i)
    many += "X-F" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < many.size(); ++i)
    cuts.push_back(i);
  what = error_of<courier::body_too_large>(many, cuts, options);
  EXPECT_NE(what.find("1024"), std::string::npos) << what;
  // Within the limit it parses.
  options.max_header_size = 64 << 10;
  parsed r = parse_bytewise(many, options);
  EXPECT_EQ(r.heads, 1);
  EXPECT_EQ(r.head.headers.size(), 200u);
}

TEST(Http1ResponseParser, ChunkLineTooLarge) {
  http1::parser_options options;
  options.max_header_size = 512;
  std::string input =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=" + std::string(100000, 'e');
  std::vector<std::size_t> cuts;
  for (std::size_t at = 100; at < input.size(); at += 100)
    cuts.push_back(at);
  std::string what = error_of<courier::body_too_large>(input, cuts, options);
  EXPECT_NE(what.find("512"), std::string::npos) << what;
}

TEST(Http1ResponseParser, ConflictingContentLength) {
  std::string what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
  EXPECT_NE(what.find("Content-Length"), std::string::npos) << what;
  // Repeating the same value is allowed (RFC 9110 section 8.6).
  parsed r = parse_whole("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(r.body, "hello");
  what = error_of<courier::protocol_error>("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
  EXPECT_NE(what.find("Content-Length"), std::string::npos) << what;
}

TEST(Http1ResponseParser, ContentLengthWithChunkedIsRefused) {
  // A request-smuggling shape: two framings for one body.
  std::string what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_NE(what.find("Transfer-Encoding"), std::string::npos) << what;
  what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n");
  EXPECT_NE(what.find("Content-Length"), std::string::npos) << what;
}

TEST(Http1ResponseParser, UnsupportedTransferCoding) {
  std::string what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  EXPECT_NE(what.find("gzip"), std::string::npos) << what;
}

TEST(Http1ResponseParser, ObsFoldIsRefused) {
  for (std::string_view input :
       {std::string_view(
            "HTTP/1.1 200 OK\r\nX-Folded: first\r\n second\r\nContent-Length: 0\r\n\r\n"),
        std::string_view("HTTP/1.1 200 OK\r\nX-Folded:\r\n\tonly\r\nContent-Length: 0\r\n\r\n")}) {
    SCOPED_TRACE(input);
    std::string what = error_of<courier::protocol_error>(input);
    EXPECT_NE(what.find("obs-fold"), std::string::npos) << what;
    EXPECT_NE(what.find("X-Folded"), std::string::npos) << what;
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < input.size(); ++i)
      cuts.push_back(i);
    what = error_of<courier::protocol_error>(input, cuts);
    EXPECT_NE(what.find("obs-fold"), std::string::npos) << what;
  }
}

TEST(Http1ResponseParser, ControlCharacterInValue) {
  std::string input = "HTTP/1.1 200 OK\r\nX-Bad: a";
  input += '\x01';
  input += "b\r\nContent-Length: 0\r\n\r\n";
  std::string what = error_of<courier::protocol_error>(input);
  EXPECT_NE(what.find("value"), std::string::npos) << what;
}

TEST(Http1ResponseParser, ErrorsAreSticky) {
  http1::response_parser parser;
  EXPECT_THROW(parser.feed("nonsense\r\n\r\n"), courier::protocol_error);
  EXPECT_THROW(parser.feed("HTTP/1.1 200 OK\r\n\r\n"), courier::protocol_error);
  EXPECT_THROW(parser.feed_eof(), courier::protocol_error);
  parser.reset({});
  EXPECT_EQ(parser.feed(content_length_response), content_length_response.size());
  EXPECT_TRUE(parser.done());
}

// --- end of stream ---

template <class Fn>
std::string read_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const courier::read_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

TEST(Http1ResponseParser, EofMidBodyCountsBytes) {
  http1::response_parser parser;
  parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
  std::string what = read_error_of([&] { parser.feed_eof(); });
  EXPECT_NE(what.find("after 10 body bytes"), std::string::npos) << what;
  EXPECT_NE(what.find("100"), std::string::npos) << what;

  http1::response_parser chunked;
  chunked.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3");
  what = read_error_of([&] { chunked.feed_eof(); });
  EXPECT_NE(what.find("after 5 body bytes"), std::string::npos) << what;
  EXPECT_NE(what.find("chunked"), std::string::npos) << what;
}

TEST(Http1ResponseParser, EofInHeadAndBeforeAnything) {
  http1::response_parser parser;
  EXPECT_FALSE(parser.started());
  std::string what = read_error_of([&] { parser.feed_eof(); });
  EXPECT_NE(what.find("before any byte"), std::string::npos) << what;

  http1::response_parser half;
  half.feed("HTTP/1.1 200 OK\r\nContent-Le");
  EXPECT_TRUE(half.started());
  what = read_error_of([&] { half.feed_eof(); });
  EXPECT_NE(what.find("header"), std::string::npos) << what;
}

TEST(Http1ResponseParser, EofAfterCompleteResponseIsFine) {
  http1::response_parser parser;
  parser.feed(content_length_response);
  EXPECT_NO_THROW(parser.feed_eof());
  EXPECT_TRUE(parser.done());
}

}  // namespace

// --- the hand-written parser's rules, beyond what the Beast-based one checked ---

TEST(Http1ResponseParser, GarbageFailsBeforeTheLineEnds) {
  // A peer that is not an HTTP server: the first bytes decide, no need to wait for a CRLF.
  for (std::string_view input : {std::string_view("SSH-2.0-OpenSSH_9.2"),
                                 std::string_view("HTTP/1.1 2x"), std::string_view("HTTP/1.2")}) {
    SCOPED_TRACE(input);
    std::string what = error_of<courier::protocol_error>(input);
    EXPECT_NE(what.find("status line"), std::string::npos) << what;
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < input.size(); ++i)
      cuts.push_back(i);
    what = error_of<courier::protocol_error>(input, cuts);
    EXPECT_NE(what.find("status line"), std::string::npos) << what;
  }
}

TEST(Http1ResponseParser, StatusLineShapes) {
  parsed r = parse_whole("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.reason, "");
  r = parse_whole("HTTP/1.0 404  Not\tFound \r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.head.status, 404);
  EXPECT_EQ(r.head.reason, " Not\tFound ") << "the reason phrase is kept as sent";
  // The space after the status code is required (RFC 9112 section 4).
  std::string what = error_of<courier::protocol_error>("HTTP/1.1 200\r\n\r\n");
  EXPECT_NE(what.find("status line"), std::string::npos) << what;
}

TEST(Http1ResponseParser, BareLineFeedsAreRefused) {
  for (std::string_view input :
       {std::string_view("HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
        std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n"),
        std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"),
        std::string_view("HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n")}) {
    SCOPED_TRACE(input);
    EXPECT_NE(error_of<courier::protocol_error>(input), "no exception");
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < input.size(); ++i)
      cuts.push_back(i);
    EXPECT_NE(error_of<courier::protocol_error>(input, cuts), "no exception");
  }
}

TEST(Http1ResponseParser, HeaderLimitIsExact) {
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: " + std::string(100, 'p') + "\r\n\r\n";
  http1::parser_options options;
  options.max_header_size = head.size();
  parsed r = parse_whole(head + "rest", options);
  EXPECT_EQ(r.heads, 1);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(parse_bytewise(head, options).heads, 1);
  options.max_header_size = head.size() - 1;
  EXPECT_NE(error_of<courier::body_too_large>(head, {}, options).find("max_header_size"),
            std::string::npos);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < head.size(); ++i)
    cuts.push_back(i);
  EXPECT_NE(error_of<courier::body_too_large>(head, cuts, options).find("max_header_size"),
            std::string::npos);
}

TEST(Http1ResponseParser, ChunkLineLimitHoldsInOnePiece) {
  // The Beast-based parser limited a chunk-size line only when it was cut across reads.
  http1::parser_options options;
  options.max_header_size = 512;
  std::string input =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=" + std::string(1000, 'e') +
      "\r\nhello\r\n0\r\n\r\n";
  std::string what = error_of<courier::body_too_large>(input, {}, options);
  EXPECT_NE(what.find("512"), std::string::npos) << what;
  // Trailers count too.
  std::string trailers =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " + std::string(1000, 't') +
      "\r\n\r\n";
  what = error_of<courier::body_too_large>(trailers, {}, options);
  EXPECT_NE(what.find("trailer"), std::string::npos) << what;
}

TEST(Http1ResponseParser, ChunkExtensionGrammar) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::string_view line :
       {std::string_view("5"), std::string_view("5;a"), std::string_view("5 ; a = b ;c"),
        std::string_view("5;a=\"q\\\"x\"")}) {
    SCOPED_TRACE(line);
    parsed r = parse_whole(head + std::string(line) + "\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(r.ends, 1);
  }
  for (std::string_view line :
       {std::string_view("5 "), std::string_view("5;"), std::string_view("5;a "),
        std::string_view("5;a=b "), std::string_view("5x"), std::string_view("5;a=\"open"),
        std::string_view("5;a=\"x\x01y\""), std::string_view("5;a=\"x\ny\"")}) {
    SCOPED_TRACE(line);
    std::string what =
        error_of<courier::protocol_error>(head + std::string(line) + "\r\nhello\r\n0\r\n\r\n");
    EXPECT_NE(what.find("chunk"), std::string::npos) << what;
  }
}

// As with Content-Encoding, a chain longer than courier handles is refused for its length,
// and the message says how long it was rather than repeating it.
TEST(Http1ResponseParser, TooLongATransferCodingChainIsRefused) {
  std::string gzips;
  for (int i = 0; i < 999; ++i)
    gzips += "gzip, ";
  std::string what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + gzips + "chunked\r\n\r\n0\r\n\r\n");
  EXPECT_NE(what.find("Transfer-Encoding lists 1000 codings, more than the limit of 4"),
            std::string::npos)
      << what;
  EXPECT_EQ(what.find("gzip, gzip"), std::string::npos) << "the list is not echoed: " << what;
  // Counted over all the fields.
  what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n"
      "Transfer-Encoding: , chunked, chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_NE(what.find("lists 5 codings, more than the limit of 4"), std::string::npos) << what;
  // A short chain is judged coding by coding, as before.
  what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  EXPECT_NE(what.find("unsupported Transfer-Encoding 'gzip, chunked'"), std::string::npos) << what;
  // Without a body the codings still do not matter.
  parsed r =
      parse_whole("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: " + gzips + "chunked\r\n\r\n");
  EXPECT_EQ(r.ends, 1);
}

TEST(Http1ResponseParser, TransferCodingsBeyondTheLastField) {
  // gzip in an earlier field is refused as well (the Beast-based parser checked the last one).
  std::string what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_NE(what.find("gzip"), std::string::npos) << what;
  what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n");
  EXPECT_NE(what.find("chunked more than once"), std::string::npos) << what;
  what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_NE(what.find("Transfer-Encoding"), std::string::npos) << what;
  // Without a body the codings do not matter.
  parsed r = parse_whole("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: gzip\r\n\r\n");
  EXPECT_EQ(r.ends, 1);
  // Empty list elements are fine.
  r = parse_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked,\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(r.head.chunked);
  EXPECT_EQ(r.ends, 1);
}

TEST(Http1ResponseParser, ContentLengthLists) {
  parsed r = parse_whole("HTTP/1.1 200 OK\r\nContent-Length: 3, 3,3\r\n\r\nabc");
  EXPECT_EQ(r.head.content_length, 3u);
  EXPECT_EQ(r.body, "abc");
  for (std::string_view value :
       {std::string_view("3,,3"), std::string_view("3,"), std::string_view("3 3"),
        std::string_view("3, 4"), std::string_view("0x3"), std::string_view(""),
        std::string_view("18446744073709551616")}) {
    SCOPED_TRACE(value);
    std::string what = error_of<courier::protocol_error>(
        "HTTP/1.1 200 OK\r\nContent-Length: " + std::string(value) + "\r\n\r\nabc");
    EXPECT_NE(what.find("Content-Length"), std::string::npos) << what;
  }
  r = parse_whole("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nab");
  EXPECT_EQ(r.head.content_length, 18446744073709551615u);
  EXPECT_EQ(r.body, "ab");
}

TEST(Http1ResponseParser, ConnectionFieldIsAList) {
  parsed r =
      parse_whole("HTTP/1.1 200 OK\r\nConnection: Upgrade, ,CLOSE\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(r.head.keep_alive);
  r = parse_whole("HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(r.head.keep_alive);
  std::string what = error_of<courier::protocol_error>(
      "HTTP/1.1 200 OK\r\nConnection: close keep-alive\r\nContent-Length: 0\r\n\r\n");
  EXPECT_NE(what.find("Connection"), std::string::npos) << what;
}

TEST(Http1ResponseParser, TrailersFollowTheFieldRules) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n";
  // Connection: close in a trailer ends the connection (as Beast did).
  parsed r = parse_whole(head + "Connection: close\r\n\r\n");
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_FALSE(r.end.keep_alive);
  EXPECT_EQ(r.end.trailers.get("connection"), "close");
  std::string what = error_of<courier::protocol_error>(head + "X-A: 1\r\n folded\r\n\r\n");
  EXPECT_NE(what.find("obs-fold"), std::string::npos) << what;
  what = error_of<courier::protocol_error>(head + "Content-Length: 5\r\n\r\n");
  EXPECT_NE(what.find("Content-Length"), std::string::npos) << what;
  what = error_of<courier::protocol_error>(head + "Bad Name: 1\r\n\r\n");
  EXPECT_NE(what.find("name"), std::string::npos) << what;
  expect_split_invariant(head + "X-T: 1\r\nConnection: close\r\n\r\n");
}

TEST(Http1ResponseParser, ResetReusesAfterAnIncompleteLine) {
  http1::response_parser parser;
  EXPECT_EQ(parser.feed("HTTP/1.1 200 OK\r\nX-Cut: hal"), 27u);
  parser.reset({});
  EXPECT_EQ(parser.feed(content_length_response), content_length_response.size());
  parsed r;
  drain(parser, r);
  EXPECT_EQ(r.head.headers.size(), 2u);
  EXPECT_FALSE(r.head.headers.contains("X-Cut"));
  EXPECT_EQ(r.body, "hello world");
}

TEST(Http1ResponseParser, ManyPipelinedResponsesOneBuffer) {
  std::string input;
  for (int i = 0; i < 50; ++i) {
    input += "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(i % 10) + "\r\n\r\n" +
             std::string(static_cast<std::size_t>(i % 10), static_cast<char>('a' + i % 26));
  }
  http1::response_parser parser;
  std::string_view rest = input;
  for (int i = 0; i < 50; ++i) {
    SCOPED_TRACE(i);
    std::size_t n = parser.feed(rest);
    ASSERT_TRUE(parser.done());
    parsed r;
    drain(parser, r);
    EXPECT_EQ(r.body,
              std::string(static_cast<std::size_t>(i % 10), static_cast<char>('a' + i % 26)));
    rest.remove_prefix(n);
    parser.reset({});
  }
  EXPECT_TRUE(rest.empty());
}

TEST(Http1ResponseParser, ChunkFramingLimitIsExact) {
  // Between two chunks' data: the CRLF after the data, then the next chunk-size line.
  http1::parser_options options;
  options.max_header_size = 64;
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const auto with_second_line = [&](std::size_t framing) {
    std::string line = "1;e=" + std::string(framing - 2 - 6, 'e') + "\r\n";  // "1;e=" + CRLF: 6
    return head + "1\r\na\r\n" + line + "b\r\n0\r\n\r\n";
  };
  parsed r = parse_whole(with_second_line(64), options);
  EXPECT_EQ(r.body, "ab");
  EXPECT_EQ(r.ends, 1);
  expect_split_invariant(with_second_line(64), options);
  std::string what = error_of<courier::body_too_large>(with_second_line(65), {}, options);
  EXPECT_NE(what.find("64"), std::string::npos) << what;
}

namespace {

TEST(Http1ResponseParser, TakeEventHandsOutTheQueuedEventsInPlace) {
  http1::response_parser parser;
  const std::string input =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello"
      "HTTP/1.1 204 No Content\r\n\r\n";
  const std::size_t used = parser.feed(input);
  EXPECT_EQ(input.substr(used), "HTTP/1.1 204 No Content\r\n\r\n");
  http1::event* e = parser.take_event();
  ASSERT_NE(e, nullptr);
  auto* head = std::get_if<http1::head_event>(e);
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers.get("x-a"), "1");
  const courier::headers taken = std::move(head->headers);  // the caller may move from it
  EXPECT_EQ(taken.size(), 2u);
  e = parser.take_event();
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(std::holds_alternative<http1::body_event>(*e));
  EXPECT_EQ(std::get<http1::body_event>(*e).data, "hello");
  e = parser.take_event();
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(std::holds_alternative<http1::end_event>(*e));
  EXPECT_TRUE(std::get<http1::end_event>(*e).keep_alive);
  EXPECT_EQ(parser.take_event(), nullptr);
  EXPECT_EQ(parser.take_event(), nullptr) << "still none, not an old event again";

  // The next response on the connection, after reset(), through the copying next_event().
  parser.reset();
  EXPECT_EQ(parser.feed(input.substr(used)), input.size() - used);
  auto next = parser.next_event();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(std::get<http1::head_event>(*next).status, 204);
  next = parser.next_event();
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(std::holds_alternative<http1::end_event>(*next));
  EXPECT_FALSE(parser.next_event().has_value());
}

}  // namespace
