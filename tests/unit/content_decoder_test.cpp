// Content-Encoding decoders: round trips, streaming, bombs, corrupt and truncated input.
#include "core/content_decoder.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <string_view>

namespace {

using courier::detail::content_decoder;
using namespace std::string_view_literals;  // the fixtures below hold NUL bytes

// windowBits: 15 + 16 gzip, 15 zlib (RFC 1950), -15 raw deflate (RFC 1951).
std::string compress(std::string_view data, int window_bits, int level = 6) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
std::string gzip(std::string_view data) {
  return compress(data, 15 + 16);
}
std::string zlib(std::string_view data) {
  return compress(data, 15);
}
std::string raw_deflate(std::string_view data) {
  return compress(data, -15);
}

// Text with some repetition and every byte value, so the codecs have real work to do.
std::string sample(std::size_t size) {
  std::string s;
  s.reserve(size);
  for (std::size_t i = 0; s.size() < size; ++i) {
    s += "line " + std::to_string(i) + ": courier streams bodies; ";
    s += static_cast<char>(i * 37);
  }
  s.resize(size);
  return s;
}

// Decodes `encoded` fed `piece` bytes at a time.
std::string decode_all(const std::string& coding, std::string_view encoded, std::size_t piece,
                       std::size_t limit = static_cast<std::size_t>(-1)) {
  auto decoder = content_decoder::make(coding);
  if (!decoder) throw std::runtime_error("no decoder for " + coding);
  decoder->set_max_output(limit);
  std::string out;
  for (std::size_t at = 0; at < encoded.size(); at += piece)
    decoder->decode(encoded.substr(at, piece), out);
  decoder->finish(out);
  EXPECT_EQ(decoder->total_output(), out.size());
  return out;
}

bool built_with(std::string_view coding) {
  std::string_view list = courier::detail::accepted_encodings();
  return list.find(coding) != std::string_view::npos;
}

TEST(ContentDecoder, MakeKnowsTheCodings) {
  for (const char* coding : {"gzip", "GZIP", "x-gzip", "deflate", "Deflate", "identity", "",
                             " gzip ", "gzip, identity", "identity, deflate"}) {
    EXPECT_NE(content_decoder::make(coding), nullptr) << coding;
  }
  for (const char* coding : {"compress", "x-compress", "gzip, compress", "bogus", "gzip2"}) {
    EXPECT_EQ(content_decoder::make(coding), nullptr) << coding;
  }
  EXPECT_NE(content_decoder::make("gzip, gzip, gzip, gzip"), nullptr) << "the longest chain";
  EXPECT_NE(content_decoder::make("gzip, identity, gzip, gzip, identity, gzip"), nullptr);
  EXPECT_EQ(content_decoder::make("br") != nullptr, built_with("br"));
  EXPECT_EQ(content_decoder::make("zstd") != nullptr, built_with("zstd"));
}

// A chain longer than courier decodes is an error, not a body handed over undecoded.
TEST(ContentDecoder, TooLongAChainIsAProtocolError) {
  std::string thousand = "gzip";
  for (int i = 1; i < 1000; ++i)
    thousand += ", gzip";
  for (const auto& [coding, count] :
       std::vector<std::pair<std::string, std::string>>{{"gzip, gzip, gzip, gzip, gzip", "5"},
                                                        {thousand, "1000"},
                                                        {"bogus, gzip, gzip, gzip, gzip", "5"}}) {
    try {
      content_decoder::make(coding);
      ADD_FAILURE() << "no error for " << count << " codings";
    } catch (const courier::protocol_error& e) {
      EXPECT_EQ(std::string(e.what()),
                "Content-Encoding lists " + count + " codings, more than the limit of 4");
    }
  }
}

TEST(ContentDecoder, AcceptedEncodingsListsGzipAndDeflate) {
  EXPECT_EQ(courier::detail::accepted_encodings().substr(0, 13), "gzip, deflate");
}

TEST(ContentDecoder, GzipRoundTripInAnyPieces) {
  const std::string body = sample(300000);
  const std::string encoded = gzip(body);
  ASSERT_LT(encoded.size(), body.size());
  for (std::size_t piece :
       {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{65536}, encoded.size()}) {
    EXPECT_TRUE(decode_all("gzip", encoded, piece) == body) << "piece " << piece;
  }
  EXPECT_TRUE(decode_all("x-gzip", encoded, 4096) == body);
}

TEST(ContentDecoder, DeflateZlibWrappedAndRaw) {
  const std::string body = sample(100000);
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{8192}}) {
    EXPECT_TRUE(decode_all("deflate", zlib(body), piece) == body) << "zlib, piece " << piece;
    EXPECT_TRUE(decode_all("deflate", raw_deflate(body), piece) == body) << "raw, piece " << piece;
  }
  // The smallest raw stream (an empty body) is two bytes long.
  EXPECT_EQ(decode_all("deflate", raw_deflate(""), 1), "");
}

TEST(ContentDecoder, GzipWithSeveralMembers) {
  const std::string encoded = gzip("first member, ") + gzip("second member");
  EXPECT_EQ(decode_all("gzip", encoded, 1), "first member, second member");
  EXPECT_EQ(decode_all("gzip", encoded, encoded.size()), "first member, second member");
}

TEST(ContentDecoder, IdentityAndEmptyBodies) {
  EXPECT_EQ(decode_all("identity", "as is", 2), "as is");
  // HEAD, 204 and 304 answers carry Content-Encoding but no bytes.
  for (const char* coding : {"gzip", "deflate", "identity"})
    EXPECT_EQ(decode_all(coding, "", 1), "") << coding;
}

TEST(ContentDecoder, ChainedCodingsDecodeLastFirst) {
  const std::string body = sample(20000);
  // "deflate, gzip": deflate was applied first, then gzip.
  const std::string encoded = gzip(zlib(body));
  EXPECT_TRUE(decode_all("deflate, gzip", encoded, 100) == body);
  EXPECT_TRUE(decode_all("deflate, identity, gzip", encoded, 5000) == body);
  EXPECT_THROW(decode_all("gzip, deflate", encoded, 100), courier::protocol_error);
}

TEST(ContentDecoder, GzipBombHitsTheLimit) {
  const std::string bomb = gzip(std::string(std::size_t{32} << 20, '\0'));
  ASSERT_LT(bomb.size(), std::size_t{64} << 10);
  const std::size_t limit = std::size_t{1} << 20;
  auto decoder = content_decoder::make("gzip");
  decoder->set_max_output(limit);
  std::string out;
  try {
    for (std::size_t at = 0; at < bomb.size(); at += 4096)
      decoder->decode(std::string_view(bomb).substr(at, 4096), out);
    FAIL() << "no body_too_large";
  } catch (const courier::body_too_large& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(limit)), std::string::npos) << e.what();
  }
  EXPECT_LE(out.size(), limit + 1) << "decoded far past the limit before stopping";
  // Exactly at the limit is allowed.
  EXPECT_EQ(decode_all("gzip", gzip(std::string(limit, 'a')), 100, limit).size(), limit);
  EXPECT_THROW(decode_all("gzip", gzip(std::string(limit + 1, 'a')), 100, limit),
               courier::body_too_large);
}

TEST(ContentDecoder, ChainedBombHitsTheLimit) {
  const std::string bomb = gzip(gzip(std::string(std::size_t{16} << 20, 'z')));
  EXPECT_THROW(decode_all("gzip, gzip", bomb, 1000, std::size_t{1} << 20), courier::body_too_large);
}

TEST(ContentDecoder, CorruptData) {
  EXPECT_THROW(decode_all("gzip", "this is not gzip at all", 5), courier::protocol_error);
  std::string encoded = gzip(sample(50000));
  encoded[encoded.size() / 2] ^= 0x55;
  try {
    decode_all("gzip", encoded, 1000);
    FAIL() << "no error";
  } catch (const courier::protocol_error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt gzip"), std::string::npos) << e.what();
  }
  std::string zlib_encoded = zlib(sample(5000));
  zlib_encoded[zlib_encoded.size() - 1] ^= 0x01;  // the Adler-32 check
  EXPECT_THROW(decode_all("deflate", zlib_encoded, 1000), courier::protocol_error);
}

TEST(ContentDecoder, TruncatedStreams) {
  const std::string body = sample(50000);
  const std::pair<const char*, std::string> cases[] = {
      {"gzip", gzip(body)}, {"deflate", zlib(body)}, {"deflate", raw_deflate(body)}};
  for (const auto& [coding, encoded] : cases) {
    const std::string cut = encoded.substr(0, encoded.size() - 5);
    try {
      decode_all(coding, cut, 777);
      FAIL() << "no error for " << coding;
    } catch (const courier::protocol_error& e) {
      EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(decode_all("gzip", "\x1f", 1), courier::protocol_error) << "one byte of a header";
}

TEST(ContentDecoder, BytesAfterTheEnd) {
  EXPECT_THROW(decode_all("gzip", gzip("body") + "junk", 3), courier::protocol_error);
  EXPECT_THROW(decode_all("deflate", zlib("body") + "junk", 100), courier::protocol_error);
}

// Made with libbrotlienc (quality 11) and the zstd tool (-3) from brotli_zstd_text(), and
// from 16 MiB of zero bytes.
// 154 bytes
constexpr std::string_view brotli_text =
    "\x1b\x1d\x0a\xf8\x8d\x94\xaa\xdb\x23\x1d\x6c\x76\x5b\x62\x8f\xd3\xaa\x0a\xce\xb1\x54\xed"
    "\xc5\x20\x08\xc2\xf8\x51\x06\x07\x20\xc3\x33\xa5\x1c\x62\x56\x2f\x80\x82\x2a\xdc\x78\xbe"
    "\x3d\x31\xfa\x3d\x7d\xf3\xb2\x6b\x54\x8f\x04\x22\x89\x4c\xa1\xa6\xa1\xa5\x5b\x22\xee\x80"
    "\xd1\x64\xb6\x58\xdb\xd8\xd2\x35\x96\xc1\x68\x32\x5b\xac\x6d\x6c\xe9\x9a\xca\x60\x34\x99"
    "\x2d\xd6\x36\xb6\x74\xcd\x65\x30\x9a\xcc\x16\x6b\x1b\x5b\xba\x96\x32\x18\x4d\x66\x8b\xb5"
    "\x8d\x2d\x5d\xeb\x32\x18\x4d\x66\x8b\xb5\x8d\x2d\x5d\x9b\x32\x18\x4d\x66\x8b\xb5\x8d\x2d"
    "\x5d\xdb\x32\x18\x4d\x66\x8b\xb5\x8d\x2d\x5d\xbb\x32\x18\x4d\x66\x8b\xb5\x8d\xed\xdc\x03"sv;
// 27 bytes
constexpr std::string_view brotli_16mib_zeros =
    "\xcb\xff\xff\x3f\xf8\x27\x00\xe2\xb1\x40\x20\xf7\xfe\x2f\xff\xff\xff\xf0\x4f\x00\xc4\x61"
    "\x11\x80\xee\xfd\x1f"sv;
// 150 bytes
constexpr std::string_view zstd_text =
    "\x28\xb5\x2f\xfd\x64\x1e\x09\x45\x04\x00\xd2\x47\x15\x14\xb0\x35\x1d\x26\x08\x87\xd1\xcd"
    "\x87\x05\x4d\x52\x4a\x99\x52\xc2\xb9\x49\x64\x10\xc3\xff\xff\xff\xff\xbb\xbb\xbb\xbb\x3b"
    "\x33\x33\x33\x33\xb3\xaa\xaa\xaa\xaa\x2a\x22\x22\x22\x22\x22\xdb\xb6\x6d\xbb\x6d\xdb\xb6"
    "\x25\x49\x92\x24\x67\x66\x66\x66\xe6\x67\x45\x2e\x67\x00\x94\x43\x40\x40\x92\x40\x19\x18"
    "\x05\x42\x18\x45\x49\x8c\x23\x29\x20\x44\x63\xa8\x21\xfc\xfa\xdf\x01\xc0\xa3\x4a\x07\x11"
    "\xfc\x7f\xc2\xe1\x0f\xdd\x7b\xee\xde\x73\x3e\x58\x83\x2c\x58\x82\x0c\xac\x40\x02\x16\x40"
    "\xda\xff\x64\xf2\x77\xc3\x1b\xdf\x30\x4b\x8c\x81\x56\x05\x9c\xb6\xa3\x05"sv;
// 541 bytes
constexpr std::string_view zstd_16mib_zeros =
    "\x28\xb5\x2f\xfd\x04\x58\x54\x00\x00\x10\x00\x00\x01\x00\xfb\xff\x39\xc0\x02\x02\x00\x10"
    "\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02"
    "\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10"
    "\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02"
    "\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10"
    "\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02"
    "\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10"
    "\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02"
    "\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10"
    "\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02"
    "\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10"
    "\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02"
    "\x00\x10\x00\x02\x00\x10\x00\x44\x00\x00\x00\x01\x00\xfd\xff\xcd\x0b\x10\x02\x00\x10\x00"
    "\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00"
    "\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00"
    "\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00"
    "\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00"
    "\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00"
    "\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00"
    "\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00"
    "\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00"
    "\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00"
    "\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00"
    "\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00\x10\x00\x02\x00"
    "\x10\x00\x02\x00\x10\x00\x01\x00\x00\x0b\xd8\xe2\x5e"sv;

std::string brotli_zstd_text() {
  std::string text;
  for (int i = 0; i < 100; ++i)
    text += "courier decodes brotli " + std::to_string(i) + "\n";
  return text;
}

TEST(ContentDecoder, Brotli) {
  if (!built_with("br")) GTEST_SKIP() << "built without libbrotlidec";
  for (std::size_t piece : {std::size_t{1}, std::size_t{10}, brotli_text.size()}) {
    EXPECT_EQ(decode_all("br", brotli_text, piece), brotli_zstd_text());
  }
  EXPECT_THROW(decode_all("br", brotli_text.substr(0, brotli_text.size() - 3), 10),
               courier::protocol_error);
  EXPECT_THROW(decode_all("br", "\xff\xff\xff\xff garbage", 10), courier::protocol_error);
  EXPECT_THROW(decode_all("br", std::string(brotli_text) + "x", 10), courier::protocol_error);
  EXPECT_EQ(decode_all("br", brotli_16mib_zeros, 5).size(), std::size_t{16} << 20);
  EXPECT_THROW(decode_all("br", brotli_16mib_zeros, 5, std::size_t{1} << 20),
               courier::body_too_large);
}

TEST(ContentDecoder, Zstd) {
  if (!built_with("zstd")) GTEST_SKIP() << "built without libzstd";
  for (std::size_t piece : {std::size_t{1}, std::size_t{10}, zstd_text.size()}) {
    EXPECT_EQ(decode_all("zstd", zstd_text, piece), brotli_zstd_text());
  }
  EXPECT_THROW(decode_all("zstd", zstd_text.substr(0, zstd_text.size() - 3), 10),
               courier::protocol_error);
  EXPECT_THROW(decode_all("zstd", "garbage, not zstd", 10), courier::protocol_error);
  // Two frames in a row are one body.
  EXPECT_EQ(decode_all("zstd", std::string(zstd_text) + std::string(zstd_text), 50),
            brotli_zstd_text() + brotli_zstd_text());
  EXPECT_EQ(decode_all("zstd", zstd_16mib_zeros, 64).size(), std::size_t{16} << 20);
  EXPECT_THROW(decode_all("zstd", zstd_16mib_zeros, 64, std::size_t{1} << 20),
               courier::body_too_large);
}

}  // namespace
