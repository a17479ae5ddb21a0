#include "proto/ws/utf8.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ws = courier::proto::ws;

namespace {

struct sample {
  const char* name;
  std::string bytes;
};

const std::vector<sample>& valid_samples() {
  static const std::vector<sample> s = {
      {"empty", ""},
      {"ascii", "Hello-\x7f world, long enough to use the 16-byte path: 0123456789"},
      {"kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"},
      {"U+0080", "\xc2\x80"},
      {"U+07FF", "\xdf\xbf"},
      {"U+0800", "\xe0\xa0\x80"},
      {"U+D7FF", "\xed\x9f\xbf"},
      {"U+E000", "\xee\x80\x80"},
      {"U+FFFD", "\xef\xbf\xbd"},
      {"U+FFFF", "\xef\xbf\xbf"},
      {"U+10000", "\xf0\x90\x80\x80"},
      {"U+10FFFF", "\xf4\x8f\xbf\xbf"},
      {"nul", std::string("a\0b", 3)},
      {"mixed", "price: 10\xe2\x82\xac, smile \xf0\x9f\x98\x80, caf\xc3\xa9 and more ascii text"},
  };
  return s;
}

const std::vector<sample>& invalid_samples() {
  static const std::vector<sample> s = {
      {"stray continuation", "\x80"},
      {"C0 overlong", "\xc0\xaf"},
      {"C1 overlong", "\xc1\xbf"},
      {"E0 overlong", "\xe0\x80\xaf"},
      {"F0 overlong", "\xf0\x80\x80\xaf"},
      {"surrogate D800", "\xed\xa0\x80"},
      {"surrogate DFFF", "\xed\xbf\xbf"},
      {"above 10FFFF", "\xf4\x90\x80\x80"},
      {"F5", "\xf5\x80\x80\x80"},
      {"FE", "\xfe"},
      {"FF", "\xff"},
      {"lead then ascii", "\xc3("},
      {"3-byte cut by ascii", "\xe2\x82("},
      {"4-byte cut by ascii", "\xf0\x9f\x98("},
      {"two leads", "\xc3\xc3\xa9"},
      {"invalid after long ascii", "0123456789abcdef0123456789abcdef\xff"},
  };
  return s;
}

}  // namespace

TEST(WsUtf8, AcceptsValidSamplesWholeAndByteByByte) {
  for (const auto& [name, bytes] : valid_samples()) {
    EXPECT_TRUE(ws::is_valid_utf8(bytes)) << name;
    ws::utf8_validator v;
    for (char c : bytes)
      ASSERT_TRUE(v.feed(std::string_view(&c, 1))) << name;
    EXPECT_TRUE(v.complete()) << name;
  }
}

TEST(WsUtf8, AcceptsValidSamplesAtEverySplit) {
  for (const auto& [name, bytes] : valid_samples()) {
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
      ws::utf8_validator v;
      ASSERT_TRUE(v.feed(std::string_view(bytes).substr(0, cut))) << name << " cut " << cut;
      ASSERT_TRUE(v.feed(std::string_view(bytes).substr(cut))) << name << " cut " << cut;
      EXPECT_TRUE(v.complete()) << name << " cut " << cut;
    }
  }
}

TEST(WsUtf8, RejectsInvalidSamplesWholeAndByteByByte) {
  for (const auto& [name, bytes] : invalid_samples()) {
    EXPECT_FALSE(ws::is_valid_utf8(bytes)) << name;
    ws::utf8_validator v;
    bool ok = true;
    for (char c : bytes)
      ok = ok && v.feed(std::string_view(&c, 1));
    EXPECT_FALSE(ok) << name;
    EXPECT_FALSE(v.complete()) << name;
  }
}

TEST(WsUtf8, TruncatedCodePointIsIncompleteButNotInvalid) {
  for (std::string cut : {"\xc3", "\xe2\x82", "\xf0\x9f\x98", "abc\xf4\x8f"}) {
    ws::utf8_validator v;
    EXPECT_TRUE(v.feed(cut)) << cut.size();
    EXPECT_TRUE(v.ok());
    EXPECT_FALSE(v.complete());
  }
}

TEST(WsUtf8, FailsFastAtTheFirstImpossibleByte) {
  // Autobahn 6.x: "κόσμε" followed by ED A0 80 (a surrogate) must fail at A0, before the 80.
  const std::string prefix = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed";
  ws::utf8_validator v;
  EXPECT_TRUE(v.feed(prefix));
  EXPECT_FALSE(v.feed("\xa0"));
  EXPECT_FALSE(v.ok());

  // F4 90: above U+10FFFF is known at the second byte.
  ws::utf8_validator w;
  EXPECT_TRUE(w.feed("\xf4"));
  EXPECT_FALSE(w.feed("\x90"));

  // Overlong E0 80 is known at the second byte too.
  ws::utf8_validator x;
  EXPECT_FALSE(x.feed("\xe0\x80"));
}

TEST(WsUtf8, StaysFailedUntilReset) {
  ws::utf8_validator v;
  EXPECT_FALSE(v.feed("\xff"));
  EXPECT_FALSE(v.feed("plain ascii"));
  EXPECT_FALSE(v.complete());
  v.reset();
  EXPECT_TRUE(v.feed("plain ascii"));
  EXPECT_TRUE(v.complete());
}

TEST(WsUtf8, EveryTwoByteAndThreeByteValueAgreesWithTheDefinition) {
  // Exhaustive over lead + one or two continuation candidates: valid exactly when the decoded
  // scalar value is in range, not overlong and not a surrogate.
  for (unsigned lead = 0xc0; lead <= 0xdf; ++lead) {
    for (unsigned c1 = 0; c1 <= 0xff; ++c1) {
      const std::string s{static_cast<char>(lead), static_cast<char>(c1)};
      const bool cont = (c1 & 0xc0) == 0x80;
      const unsigned cp = ((lead & 0x1f) << 6) | (c1 & 0x3f);
      ASSERT_EQ(ws::is_valid_utf8(s), cont && cp >= 0x80) << lead << " " << c1;
    }
  }
  for (unsigned lead = 0xe0; lead <= 0xef; ++lead) {
    for (unsigned c1 = 0x70; c1 <= 0xc0; ++c1) {
      for (unsigned c2 : {0x7fu, 0x80u, 0xbfu, 0xc0u}) {
        const std::string s{static_cast<char>(lead), static_cast<char>(c1), static_cast<char>(c2)};
        const bool cont = (c1 & 0xc0) == 0x80 && (c2 & 0xc0) == 0x80;
        const unsigned cp = ((lead & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
        const bool valid = cont && cp >= 0x800 && !(cp >= 0xd800 && cp <= 0xdfff);
        ASSERT_EQ(ws::is_valid_utf8(s), valid) << lead << " " << c1 << " " << c2;
      }
    }
  }
  for (unsigned lead = 0xf0; lead <= 0xff; ++lead) {
    for (unsigned c1 = 0x80; c1 <= 0xbf; ++c1) {
      const std::string s{static_cast<char>(lead), static_cast<char>(c1), '\x80', '\x80'};
      const unsigned cp = ((lead & 0x07) << 18) | ((c1 & 0x3f) << 12);
      const bool valid = lead <= 0xf4 && cp >= 0x10000 && cp <= 0x10ffff;
      ASSERT_EQ(ws::is_valid_utf8(s), valid) << lead << " " << c1;
    }
  }
}

// --- SIMD engine against the scalar one and against the definition ---------------------------
namespace {

using ws::detail::utf8_engine;

// What the definition says about a byte string (Unicode 15, 3.9, D92), written independently of
// both engines: the index of the first byte after which no valid UTF-8 can continue (size() if
// none), and whether the string is complete.
struct verdict {
  std::size_t first_bad;
  bool complete;
};

// A lead plus the continuations seen so far can still become a valid code point iff the range of
// values its completions span meets the valid range for its length.
bool completable(unsigned lead, const unsigned char* conts, int seen, int length) {
  unsigned lo = lead & (0x7fu >> length);
  for (int k = 0; k < seen; ++k)
    lo = (lo << 6) | (conts[k] & 0x3fu);
  const int open_bits = 6 * (length - 1 - seen);
  lo <<= open_bits;
  const unsigned hi = lo | ((1u << open_bits) - 1);
  auto meets = [&](unsigned from, unsigned to) { return lo <= to && hi >= from; };
  switch (length) {
    case 2:
      return meets(0x80, 0x7ff);
    case 3:
      return meets(0x800, 0xd7ff) || meets(0xe000, 0xffff);
    default:
      return meets(0x10000, 0x10ffff);
  }
}

verdict by_definition(std::string_view s) {
  const auto* u = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned lead = u[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    const int length = lead >= 0xf8   ? 0
                       : lead >= 0xf0 ? 4
                       : lead >= 0xe0 ? 3
                       : lead >= 0xc0 ? 2
                                      : 0;
    if (length == 0 || !completable(lead, nullptr, 0, length)) return {i, false};
    for (int k = 1; k < length; ++k) {
      if (i + k == n) return {n, false};  // cut at the end: fine so far
      if ((u[i + k] & 0xc0) != 0x80 || !completable(lead, u + i + 1, k, length)) {
        return {i + k, false};
      }
    }
    i += length;
  }
  return {n, true};
}

// Feeds `s` cut at `cuts` (ascending offsets) and checks every feed() and the final state
// against the definition. Returns a description of the first mismatch, or "" when all agree.
std::string check_chunks(std::string_view s, const std::vector<std::size_t>& cuts,
                         utf8_engine engine) {
  const verdict want = by_definition(s);
  ws::utf8_validator v;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : s.size();
    // Each chunk in a buffer of its own exact size, so a sanitizer build catches reads past it.
    const std::vector<char> chunk(s.begin() + from, s.begin() + to);
    const bool fed = ws::detail::feed_utf8(v, std::string_view(chunk.data(), chunk.size()), engine);
    // A chunk must fail exactly when it holds (or follows) the first impossible byte.
    if (fed != (want.first_bad >= to)) {
      return "feed of [" + std::to_string(from) + ", " + std::to_string(to) + ") returned " +
             std::to_string(fed) + ", first bad byte at " + std::to_string(want.first_bad);
    }
    from = to;
  }
  if (v.ok() != (want.first_bad == s.size())) return "ok() disagrees";
  if (v.complete() != want.complete) return "complete() disagrees";
  return "";
}

std::string hex(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
    out += ' ';
  }
  return out;
}

void expect_both_engines_agree(std::string_view s, const std::vector<std::size_t>& cuts,
                               const char* what) {
  for (utf8_engine engine : {utf8_engine::scalar, utf8_engine::simd}) {
    const std::string mismatch = check_chunks(s, cuts, engine);
    ASSERT_EQ(mismatch, "") << what << (engine == utf8_engine::simd ? " (simd)" : " (scalar)")
                            << ", size " << s.size() << ": " << hex(s.substr(0, 400));
  }
}

void append_code_point(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Invalid byte patterns of every kind the validator must reject.
const std::vector<std::string>& invalid_pieces() {
  static const std::vector<std::string> pieces = {
      "\xc0\x80",
      "\xc1\xbf",
      "\xe0\x80\x80",
      "\xe0\x9f\xbf",
      "\xf0\x80\x80\x80",
      "\xf0\x8f\xbf\xbf",
      "\xed\xa0\x80",
      "\xed\xbf\xbf",
      "\xf4\x90\x80\x80",
      "\xf7\xbf\xbf\xbf",
      "\xf5\x80\x80\x80",
      "\xf8\x88\x80\x80",
      "\xff",
      "\xfe",
      "\x80",
      "\xbf\xbf",
      "\xc3",
      "\xe2\x82",
      "\xf0\x9f\x98",
      "\xc3\xc3",
      "\xe2\xe2\x82\xac",
      "\xf0\x9f\xe2\x82\xac",
  };
  return pieces;
}

// Random text mixing code points of every length (boundary values often) with, when
// `errors` > 0, about that many invalid pieces.
std::string random_text(std::mt19937& rng, std::size_t size, int errors) {
  static constexpr std::uint32_t edges[] = {0x0,    0x7f,   0x80,    0x7ff,    0x800,
                                            0xd7ff, 0xe000, 0xfffd,  0xffff,   0x10000,
                                            0xe9,   0x20ac, 0x1f600, 0x10ffff, 0xfeff};
  std::string out;
  std::uniform_int_distribution<int> kind(0, 99);
  const int error_percent =
      errors > 0 ? std::max(1, static_cast<int>(errors * 300 / (size + 1))) : 0;
  while (out.size() < size) {
    const int k = kind(rng);
    if (k < error_percent) {
      const auto& pieces = invalid_pieces();
      out += pieces[rng() % pieces.size()];
    } else if (k < 55) {
      out += static_cast<char>('a' + rng() % 26);
    } else if (k < 65) {
      append_code_point(out, edges[rng() % std::size(edges)]);
    } else if (k < 80) {
      append_code_point(out, 0x80 + rng() % (0x800 - 0x80));
    } else if (k < 92) {
      std::uint32_t cp = 0x800 + rng() % (0x10000 - 0x800);
      if (cp >= 0xd800 && cp <= 0xdfff) cp -= 0x800;
      append_code_point(out, cp);
    } else {
      append_code_point(out, 0x10000 + rng() % (0x110000 - 0x10000));
    }
  }
  return out;
}

std::vector<std::size_t> random_cuts(std::mt19937& rng, std::size_t size, std::size_t count) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < count && size > 0; ++i)
    cuts.push_back(rng() % (size + 1));
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

// The e2e benchmark's text shape: ASCII words with an "é" every 64 bytes.
std::string accented_text(std::size_t n) {
  static constexpr std::string_view words = "the quick brown fox jumps over a lazy dog; ";
  std::string s;
  while (s.size() < n)
    s += s.size() % 64 == 62 && s.size() + 2 <= n ? "\xc3\xa9"
                                                  : std::string(1, words[s.size() % words.size()]);
  return s;
}

class WsUtf8Simd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ws::detail::utf8_simd_available()) GTEST_SKIP() << "no AVX2 on this CPU";
  }
};

}  // namespace

TEST(WsUtf8Reference, DefinitionMatchesTheKnownSamples) {
  // The reference itself must be right, or agreeing with it proves nothing.
  for (const auto& [name, bytes] : valid_samples())
    EXPECT_TRUE(by_definition(bytes).complete) << name;
  for (const auto& [name, bytes] : invalid_samples())
    EXPECT_LT(by_definition(bytes).first_bad, bytes.size()) << name;
  EXPECT_EQ(by_definition("ab\xed\xa0\x80").first_bad, 3u);  // fails at A0, not at ED
  EXPECT_EQ(by_definition("\xf4\x8f").first_bad, 2u);        // cut, not wrong
  EXPECT_FALSE(by_definition("\xf4\x8f").complete);
}

TEST_F(WsUtf8Simd, RandomTextWholeAndSplitAtEveryBoundary) {
  std::mt19937 rng(20260901);
  for (int round = 0; round < 300; ++round) {
    const std::size_t size = 128 + rng() % 160;
    const std::string text = random_text(rng, size, round % 3 == 0 ? 0 : 1 + round % 2);
    expect_both_engines_agree(text, {}, "whole");
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      expect_both_engines_agree(text, {cut}, "one cut");
      if (HasFatalFailure()) return;
    }
  }
}

TEST_F(WsUtf8Simd, LongRandomTextSplitAtRandomBoundaries) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const std::size_t size = 256 + rng() % 4096;
    const std::string text = random_text(rng, size, round % 2 == 0 ? 0 : 1);
    expect_both_engines_agree(text, {}, "whole");
    for (int split = 0; split < 8; ++split) {
      expect_both_engines_agree(text, random_cuts(rng, text.size(), 1 + rng() % 6), "cuts");
      if (HasFatalFailure()) return;
    }
  }
}

TEST_F(WsUtf8Simd, ErrorsAtEveryPositionAroundBlockEdges) {
  // Every invalid piece at every offset of texts several blocks long, with ASCII, 2-, 3- and
  // 4-byte neighbours, so each lands before, on and after the 32- and 64-byte block edges.
  const std::string bases[] = {std::string(260, 'x'), accented_text(260), [] {
                                 std::string s;
                                 while (s.size() < 260)
                                   s += "ab\xe2\x82\xac\xf0\x9f\x98\x80\xc3\xa9";
                                 return s;
                               }()};
  for (const std::string& base : bases) {
    for (const std::string& piece : invalid_pieces()) {
      for (std::size_t at = 0; at + piece.size() <= 200; ++at) {
        std::string text = base;
        text.replace(at, piece.size(), piece);
        expect_both_engines_agree(text, {}, "whole");
        expect_both_engines_agree(text, {at}, "cut at the error");
        expect_both_engines_agree(text, {at + 1}, "cut after the error's first byte");
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_F(WsUtf8Simd, ValidCodePointsStraddlingEveryBlockEdge) {
  for (std::uint32_t cp : {0x80u, 0x7ffu, 0x800u, 0xd7ffu, 0xe000u, 0xffffu, 0x10000u, 0x10ffffu}) {
    std::string encoded;
    append_code_point(encoded, cp);
    for (std::size_t at = 0; at < 200; ++at) {
      std::string text(260, 'y');
      text.replace(at, encoded.size(), encoded);
      ws::utf8_validator v;
      ASSERT_TRUE(ws::detail::feed_utf8(v, text, utf8_engine::simd)) << cp << " at " << at;
      EXPECT_TRUE(v.complete()) << cp << " at " << at;
      // Cut just after the lead: the first chunk is a valid prefix, the second completes it.
      ws::utf8_validator w;
      ASSERT_TRUE(
          ws::detail::feed_utf8(w, std::string_view(text).substr(0, at + 1), utf8_engine::simd));
      ASSERT_TRUE(
          ws::detail::feed_utf8(w, std::string_view(text).substr(at + 1), utf8_engine::simd));
      EXPECT_TRUE(w.complete()) << cp << " at " << at;
    }
  }
}

TEST_F(WsUtf8Simd, CodePointCutAtTheEndOfALongChunkIsCarriedOver) {
  for (std::size_t size : {127u, 128u, 129u, 191u, 192u, 193u, 255u, 256u, 257u}) {
    for (std::string_view cp : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}) {
      for (std::size_t keep = 1; keep < cp.size(); ++keep) {
        std::string first(size - keep, 'q');
        first += cp.substr(0, keep);
        ws::utf8_validator v;
        ASSERT_TRUE(ws::detail::feed_utf8(v, first, utf8_engine::simd)) << size << " " << keep;
        EXPECT_TRUE(v.ok());
        EXPECT_FALSE(v.complete()) << size << " " << keep;
        std::string second(cp.substr(keep));
        second += std::string(200, 'r');  // long enough for the SIMD engine
        ASSERT_TRUE(ws::detail::feed_utf8(v, second, utf8_engine::simd)) << size << " " << keep;
        EXPECT_TRUE(v.complete()) << size << " " << keep;

        // The same cut followed by ASCII instead of the continuation fails in the second chunk.
        ws::utf8_validator w;
        ASSERT_TRUE(ws::detail::feed_utf8(w, first, utf8_engine::simd));
        EXPECT_FALSE(ws::detail::feed_utf8(w, std::string(200, 'r'), utf8_engine::simd));
        EXPECT_FALSE(w.ok());
      }
    }
  }
}

TEST_F(WsUtf8Simd, EveryBytePairAndLeadTripleInsideALongText) {
  // The nibble tables of the SIMD engine against the definition for all 65536 byte pairs, and
  // for every 3- and 4-byte lead with all second bytes and telling third bytes, at offsets on
  // both sides of the lane (16), vector (32) and block (64) edges.
  for (std::size_t at : {5u, 15u, 31u, 63u, 64u}) {
    for (unsigned first = 0; first < 256; ++first) {
      for (unsigned second = 0; second < 256; ++second) {
        std::string text(192, 'z');
        text[at] = static_cast<char>(first);
        text[at + 1] = static_cast<char>(second);
        const verdict want = by_definition(text);
        ws::utf8_validator v;
        ASSERT_EQ(ws::detail::feed_utf8(v, text, utf8_engine::simd), want.first_bad == text.size())
            << at << ": " << first << " " << second;
      }
    }
  }
  for (std::size_t at : {30u, 62u}) {
    for (unsigned lead = 0xe0; lead < 0x100; ++lead) {
      for (unsigned second = 0x70; second < 0xd0; ++second) {
        for (unsigned third : {0x41u, 0x80u, 0x9fu, 0xa0u, 0xbfu, 0xc3u, 0xe2u, 0xf0u}) {
          for (unsigned fourth : {0x41u, 0x80u, 0xbfu, 0xc0u}) {
            std::string text(192, 'z');
            text[at] = static_cast<char>(lead);
            text[at + 1] = static_cast<char>(second);
            text[at + 2] = static_cast<char>(third);
            text[at + 3] = static_cast<char>(fourth);
            const verdict want = by_definition(text);
            ws::utf8_validator v;
            ASSERT_EQ(ws::detail::feed_utf8(v, text, utf8_engine::simd),
                      want.first_bad == text.size())
                << at << ": " << lead << " " << second << " " << third << " " << fourth;
          }
        }
      }
    }
  }
}

TEST_F(WsUtf8Simd, BenchmarkShapeIsValidAndACorruptedByteIsFound) {
  const std::string text = accented_text(1 << 20);
  EXPECT_TRUE(ws::is_valid_utf8(text));
  std::string broken = text;
  broken[(1 << 19) + 64 * 3 + 63] = 'A';  // the A9 of an "é" becomes ASCII
  EXPECT_FALSE(ws::is_valid_utf8(broken));
  std::string stray = text;
  stray[stray.size() - 70] = '\x80';
  EXPECT_FALSE(ws::is_valid_utf8(stray));
}
