// Streamed request bodies (stream_body) as the backend reads them: sizes, chunk adaptors,
// istreams, rewinding, and failing sources turned into typed errors.
#include "core/body_encoder.hpp"

#include <courier/body_source.hpp>
#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace {

using courier::detail::encode_body;

// Reads a source to its end in pieces of `piece` bytes (bounded).
std::string read_all(courier::detail::body_source& s, std::size_t piece = 7) {
  std::string out;
  std::vector<char> buf(piece);
  for (int i = 0; i < 1'000'000; ++i) {
    std::size_t n = s.read(buf.data(), buf.size());
    if (n == 0) return out;
    out.append(buf.data(), n);
  }
  ADD_FAILURE() << "the source never ended";
  return out;
}

TEST(StreamBodySource, ChunksAreConcatenatedAndSentChunked) {
  std::vector<std::string> chunks = {"hello", "", " ", "streamed world"};
  std::size_t i = 0;
  auto enc = encode_body(courier::body_from_chunks(
      [&]() -> std::optional<std::string> {
        if (i == chunks.size()) return std::nullopt;
        return chunks[i++];
      },
      std::nullopt, "text/plain"));
  ASSERT_TRUE(enc.source);
  EXPECT_EQ(enc.content_type, "text/plain");
  EXPECT_FALSE(enc.source->size());  // unknown: chunked
  EXPECT_EQ(read_all(*enc.source, 4), "hello streamed world");
  EXPECT_EQ(enc.source->async_reader(), nullptr);
}

TEST(StreamBodySource, SizeIsContentLengthAndCapsTheSource) {
  auto enc = encode_body(courier::body_from_reader(
      [](std::span<char> buf) {
        std::fill(buf.begin(), buf.end(), 'k');
        return buf.size();  // endless
      },
      10));
  EXPECT_EQ(enc.source->size(), 10u);
  EXPECT_EQ(read_all(*enc.source, 4), std::string(10, 'k'));
}

TEST(StreamBodySource, ShortSourceFails) {
  int calls = 0;
  auto enc = encode_body(courier::body_from_reader(
      [&](std::span<char> buf) -> std::size_t {
        if (calls++ > 0) return 0;
        buf[0] = 'a';
        return 1;
      },
      5));
  try {
    read_all(*enc.source);
    FAIL() << "no error";
  } catch (const courier::body_source_error& e) {
    EXPECT_EQ(e.code(), courier::errc::write_failed);
    EXPECT_NE(std::string(e.what()).find("1 of the 5 bytes"), std::string::npos) << e.what();
  }
}

TEST(StreamBodySource, ThrowingSourceBecomesBodySourceError) {
  int calls = 0;
  auto enc = encode_body(courier::body_from_reader([&](std::span<char> buf) -> std::size_t {
    if (++calls == 3) throw std::runtime_error("sensor unplugged");
    buf[0] = 'x';
    return 1;
  }));
  try {
    read_all(*enc.source);
    FAIL() << "no error";
  } catch (const courier::body_source_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("sensor unplugged"), std::string::npos) << what;
    EXPECT_NE(what.find("after 2 bytes"), std::string::npos) << what;
  }
}

TEST(StreamBodySource, CourierErrorsKeepTheirType) {
  auto enc = encode_body(courier::body_from_reader(
      [](std::span<char>) -> std::size_t { throw courier::file_error("gone"); }));
  EXPECT_THROW(read_all(*enc.source), courier::file_error);
}

TEST(StreamBodySource, OverlongReturnIsRejected) {
  auto enc =
      encode_body(courier::body_from_reader([](std::span<char> buf) { return buf.size() + 1; }));
  EXPECT_THROW(read_all(*enc.source), courier::body_source_error);
}

TEST(StreamBodySource, IstreamIsReadAndRewound) {
  std::istringstream in("0123456789abcdef");
  in.get();  // the body starts where the stream is when first read
  auto enc = encode_body(courier::body_from_istream(in));
  EXPECT_FALSE(enc.source->size());
  EXPECT_EQ(read_all(*enc.source, 5), "123456789abcdef");
  EXPECT_TRUE(enc.source->rewindable());
  enc.source->rewind();
  EXPECT_EQ(read_all(*enc.source, 3), "123456789abcdef");
}

TEST(StreamBodySource, FailedIstreamIsAnErrorNotAnEmptyBody) {
  std::istringstream in("data");
  in.setstate(std::ios::failbit);
  auto enc = encode_body(courier::body_from_istream(in));
  EXPECT_THROW(read_all(*enc.source), courier::body_source_error);
}

TEST(StreamBodySource, WithoutRewindItCanBeSentOnce) {
  int calls = 0;
  auto enc = encode_body(courier::body_from_reader([&](std::span<char> buf) -> std::size_t {
    if (calls++ > 0) return 0;
    buf[0] = 'z';
    return 1;
  }));
  EXPECT_TRUE(enc.source->rewindable());  // nothing read yet
  enc.source->rewind();                   // a no-op then
  EXPECT_EQ(read_all(*enc.source), "z");
  EXPECT_FALSE(enc.source->rewindable());
  EXPECT_THROW(enc.source->rewind(), courier::invalid_request);
}

TEST(StreamBodySource, AsyncSourceIsExposedAndChecked) {
  auto enc = encode_body(courier::body_from_async(
      [](std::span<char>) -> boost::asio::awaitable<std::size_t> { co_return 0; }, 3));
  ASSERT_NE(enc.source->async_reader(), nullptr);
  EXPECT_EQ(enc.source->async_read_limit(100), 3u);
  EXPECT_EQ(enc.source->async_read_done(3, 2), 2u);
  EXPECT_EQ(enc.source->async_read_limit(100), 1u);
  EXPECT_THROW(enc.source->async_read_done(1, 0), courier::body_source_error);  // 2 of 3
  EXPECT_THROW(enc.source->async_read_failed(std::make_exception_ptr(std::runtime_error("no"))),
               courier::body_source_error);
}

TEST(StreamBodySource, EmptyStreamBodyIsInvalid) {
  EXPECT_THROW(encode_body(courier::stream_body{}), courier::invalid_request);
}

}  // namespace
