#include "proto/ws/utf8.hpp"

#include <gtest/gtest.h>

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
