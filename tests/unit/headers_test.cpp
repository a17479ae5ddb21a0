#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/method.hpp>

#include <gtest/gtest.h>

TEST(Headers, CaseInsensitiveLookupKeepsOrderAndRepeats) {
  courier::headers h;
  h.add("Set-Cookie", "a=1");
  h.add("content-type", "text/plain");
  h.add("SET-COOKIE", "b=2");
  EXPECT_EQ(h.get("Content-Type"), "text/plain");
  auto cookies = h.get_all("set-cookie");
  ASSERT_EQ(cookies.size(), 2u);
  EXPECT_EQ(cookies[0], "a=1");
  EXPECT_EQ(cookies[1], "b=2");
  EXPECT_FALSE(h.get("missing"));
  EXPECT_EQ(h.size(), 3u);
}

TEST(Headers, SetReplacesEveryField) {
  courier::headers h{{"X-A", "1"}, {"x-a", "2"}};
  h.set("X-a", "3");
  EXPECT_EQ(h.get_all("x-A").size(), 1u);
  EXPECT_EQ(h.get("X-A"), "3");
  EXPECT_EQ(h.erase("x-a"), 1u);
  EXPECT_TRUE(h.empty());
}

TEST(Headers, RejectsInjection) {
  courier::headers h;
  EXPECT_THROW(h.add("X-Evil", "a\r\nInjected: yes"), courier::invalid_header);
  EXPECT_THROW(h.add("X-Evil", "a\nb"), courier::invalid_header);
  EXPECT_THROW(h.add("X-Evil", std::string("a\0b", 3)), courier::invalid_header);
  EXPECT_THROW(h.add("Bad Name", "v"), courier::invalid_header);
  EXPECT_THROW(h.add("Bad:Name", "v"), courier::invalid_header);
  EXPECT_THROW(h.add("", "v"), courier::invalid_header);
  EXPECT_TRUE(h.empty()) << "nothing half-added";
  EXPECT_NO_THROW(h.add("X-Ok", "tab\tand obs-text \xe9"));
}

TEST(Headers, InjectionErrorIsAnInvalidRequest) {
  courier::headers h;
  try {
    h.add("X-Evil", "a\r\nb");
    FAIL();
  } catch (const courier::invalid_request& e) {
    EXPECT_STREQ(e.what(),
                 R"(the value of header "X-Evil" holds the byte \x0d ("a\x0d\x0ab"); CR, LF, )"
                 R"(NUL and other controls are rejected to prevent injection)");
  }
}

namespace {
std::string header_message(std::string_view name, std::string_view value) {
  try {
    courier::headers h;
    h.add(name, value);
  } catch (const courier::invalid_header& e) {
    return e.what();
  }
  return "(accepted)";
}
}  // namespace

TEST(Headers, MessagesQuoteInputWithBytesOutsidePrintableAsciiEscaped) {
  EXPECT_EQ(header_message("Bad Name", "v"),
            R"(header name "Bad Name" holds a space, which a field name cannot hold)");
  EXPECT_EQ(header_message("Bad:Name", "v"),
            R"(header name "Bad:Name" holds ':', which a field name cannot hold)");
  EXPECT_EQ(header_message("X-\xc3\xa9", "v"),
            R"(header name "X-\xc3\xa9" holds the byte \xc3, which a field name cannot hold)");
  EXPECT_EQ(header_message("X-\"q\"", "v"),
            R"(header name "X-\"q\"" holds '"', which a field name cannot hold)");
  EXPECT_EQ(header_message("", "v"), "header name is empty");
  EXPECT_EQ(header_message("X-Nul", std::string("a\0b\x7f", 4)),
            R"(the value of header "X-Nul" holds the byte \x00 ("a\x00b\x7f"); CR, LF, NUL )"
            R"(and other controls are rejected to prevent injection)");
  EXPECT_EQ(header_message("X-Long", std::string(100, 'v') + "\n"),
            "the value of header \"X-Long\" holds the byte \\x0a (\"" + std::string(64, 'v') +
                "\"...); CR, LF, NUL and other controls are rejected to prevent injection");
  try {
    courier::method m("GET\n/x");
    FAIL();
  } catch (const courier::invalid_request& e) {
    EXPECT_STREQ(
        e.what(),
        R"(invalid HTTP method "GET\x0a/x": a method must be a token such as GET or POST)");
  }
}

TEST(Method, TokensOnly) {
  EXPECT_EQ(courier::method::get.name(), "GET");
  EXPECT_EQ(courier::method("PROPFIND").name(), "PROPFIND");
  EXPECT_THROW(courier::method("GET /x"), courier::invalid_request);
  EXPECT_THROW(courier::method(""), courier::invalid_request);
}
