#include <courier/error.hpp>
#include <courier/uri.hpp>

#include <gtest/gtest.h>

using courier::uri;

TEST(Uri, ParsesComponents) {
  uri u("https://user:pw@Example.org:8443/a/b%20c?x=1&y=2#frag");
  EXPECT_EQ(u.scheme(), "https");
  EXPECT_EQ(u.host(), "Example.org");
  EXPECT_EQ(u.port(), 8443);
  EXPECT_TRUE(u.has_explicit_port());
  EXPECT_EQ(u.userinfo(), "user:pw");
  EXPECT_EQ(u.path(), "/a/b%20c");
  EXPECT_EQ(u.query(), "x=1&y=2");
  EXPECT_EQ(u.fragment(), "frag");
  EXPECT_EQ(u.target(), "/a/b%20c?x=1&y=2");
  EXPECT_EQ(u.origin(), "https://example.org:8443");
  EXPECT_EQ(u.authority(), "Example.org:8443");
  EXPECT_TRUE(u.is_secure());
}

TEST(Uri, DefaultPortsAndPath) {
  uri u("http://example.org");
  EXPECT_EQ(u.port(), 80);
  EXPECT_FALSE(u.has_explicit_port());
  EXPECT_EQ(u.path(), "/");
  EXPECT_EQ(u.target(), "/");
  EXPECT_EQ(u.authority(), "example.org");
  EXPECT_EQ(uri("wss://h/x").port(), 443);
  EXPECT_EQ(uri("ws://h/x").port(), 80);
  EXPECT_EQ(uri("https://h:443/").authority(), "h");
}

TEST(Uri, SchemeIsLowerCased) {
  EXPECT_EQ(uri("HTTP://h/").scheme(), "http");
}

TEST(Uri, Ipv6Literal) {
  uri u("http://[::1]:8080/x");
  EXPECT_EQ(u.host(), "::1");
  EXPECT_TRUE(u.is_ipv6_host());
  EXPECT_EQ(u.authority(), "[::1]:8080");
  EXPECT_EQ(u.str(), "http://[::1]:8080/x");
}

TEST(Uri, InvalidInputThrowsAtConstruction) {
  EXPECT_THROW(uri("not a uri"), courier::invalid_uri);
  EXPECT_THROW(uri(""), courier::invalid_uri);
  EXPECT_THROW(uri("example.org/path"), courier::invalid_uri);
  EXPECT_THROW(uri("http://"), courier::invalid_uri);
  EXPECT_THROW(uri("http://h:99999/"), courier::invalid_uri);
  EXPECT_THROW(uri("http://h:0/"), courier::invalid_uri);
  EXPECT_THROW(uri("http://exa mple.org/"), courier::invalid_uri);
  EXPECT_FALSE(uri::try_parse("::::").has_value());
  try {
    uri("example.org");
    FAIL();
  } catch (const courier::invalid_request& e) {
    EXPECT_NE(std::string(e.what()).find("no scheme"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), courier::errc::invalid_request);
  }
}

namespace {
std::string message_for(const std::string& text) {
  try {
    uri u(text);
  } catch (const courier::invalid_uri& e) {
    return e.what();
  }
  return "(accepted)";
}
}  // namespace

TEST(Uri, MessagesSayWhatIsWrongAndWhere) {
  EXPECT_EQ(message_for("http://[::1/"),
            R"(invalid uri "http://[::1/": the IPv6 address is not closed with ']')");
  EXPECT_EQ(message_for("http://[::g]/"),
            R"(invalid uri "http://[::g]/": the IPv6 address "[::g]" is not valid)");
  EXPECT_EQ(message_for("http://[::1]x/"),
            R"(invalid uri "http://[::1]x/": the IPv6 address is followed by 'x' at offset 12; )"
            R"(only a ':' and a port may follow ']')");
  EXPECT_EQ(message_for("http://exa mple.org/"),
            R"(invalid uri "http://exa mple.org/": the host holds a space at offset 10, which a )"
            R"(host name cannot hold)");
  EXPECT_EQ(message_for("http://a\"b/"),
            R"(invalid uri "http://a\"b/": the host holds '"' at offset 8, which a host name )"
            R"(cannot hold)");
  EXPECT_EQ(message_for("http://h:8o/"),
            R"(invalid uri "http://h:8o/": the port "8o" holds 'o' at offset 10; a port is a )"
            R"(number from 1 to 65535)");
  EXPECT_EQ(message_for("http://::1/"),
            R"(invalid uri "http://::1/": the port ":1" holds ':' at offset 8; a port is a number )"
            R"(from 1 to 65535 (write an IPv6 address in brackets, as in http://[::1]:8080/))");
  EXPECT_EQ(message_for("http://h:99999/"),
            R"(invalid uri "http://h:99999/": its port "99999" is not a number from 1 to 65535)");
  EXPECT_EQ(message_for("1http://h/"),
            R"(invalid uri "1http://h/": its scheme "1http" is not a letter followed by letters, )"
            R"(digits, '+', '-' or '.')");
  EXPECT_EQ(message_for("http://h/a b"),
            R"(invalid uri "http://h/a b": the path holds a space at offset 10; percent-encode it )"
            R"(as %20 or add the segment with with_path_segment())");
  EXPECT_EQ(message_for("http://h/[x]"),
            R"(invalid uri "http://h/[x]": the path holds '[' at offset 9; percent-encode it as )"
            R"(%5B or add the segment with with_path_segment())");
  EXPECT_EQ(message_for("http://h/%zz"),
            R"(invalid uri "http://h/%zz": the path has a '%' at offset 9 that is not followed by )"
            R"(two hex digits (write a '%' itself as %25))");
  EXPECT_EQ(message_for("http://h/?q=a\nb"),
            R"(invalid uri "http://h/?q=a\x0ab": the query holds the byte \x0a at offset 13; )"
            R"(percent-encode it as %0A or add the parameter with with_query_param())");
  EXPECT_EQ(message_for("http://h/#a#b"),
            R"(invalid uri "http://h/#a#b": the fragment holds '#' at offset 11; percent-encode )"
            R"(it as %23)");
  EXPECT_EQ(message_for("example.org"),
            R"(invalid uri "example.org": it has no scheme (write it as "http://example.org"))");
  EXPECT_EQ(message_for(""), R"(invalid uri "": it is empty)");
  EXPECT_EQ(message_for("http://@a@b/"),
            R"(invalid uri "http://@a@b/": the host holds '@' at offset 9, which a host name )"
            R"(cannot hold)");
  EXPECT_EQ(message_for("http://"), R"(invalid uri "http://": it has no host)");
}

TEST(Uri, MessagesEscapeBytesOutsidePrintableAscii) {
  // UTF-8, controls and DEL are shown as \xNN, so the message is one line of plain ASCII.
  EXPECT_EQ(message_for("http://h/\xc3\xa9"),
            R"(invalid uri "http://h/\xc3\xa9": the path holds the byte \xc3 at offset 9; )"
            R"(percent-encode it as %C3 or add the segment with with_path_segment())");
  EXPECT_EQ(message_for("http://h\r\nX: y/"),
            R"(invalid uri "http://h\x0d\x0aX: y/": the host holds the byte \x0d at offset 8, )"
            R"(which a host name cannot hold)");
  const std::string long_text = "http://h/" + std::string(300, 'a') + " ";
  EXPECT_EQ(message_for(long_text), "invalid uri \"http://h/" + std::string(191, 'a') +
                                        "\"...: the path holds a space at offset 309; "
                                        "percent-encode it as %20 or add the segment with "
                                        "with_path_segment()");
}

TEST(Uri, ResolveAndWithSchemeMessagesAreSentencesToo) {
  try {
    uri("http://h/").resolve("/a b");
    FAIL();
  } catch (const courier::invalid_uri& e) {
    EXPECT_STREQ(e.what(),
                 R"(invalid uri "/a b": the path holds a space at offset 2; percent-encode it )"
                 R"(as %20 or add the segment with with_path_segment())");
  }
  try {
    uri("http://h/").with_scheme("1x");
    FAIL();
  } catch (const courier::invalid_uri& e) {
    EXPECT_STREQ(e.what(),
                 R"(invalid uri "http://h/": its scheme "1x" is not a letter followed by )"
                 R"(letters, digits, '+', '-' or '.')");
  }
}

TEST(Uri, PathSegmentsArePercentEncoded) {
  uri u = uri("http://h/").with_path_segments({"a b", "c/d", "é"});
  EXPECT_EQ(u.path(), "/a%20b/c%2Fd/%C3%A9");
  EXPECT_EQ(uri("http://h/base").with_path_segment("x?y").path(), "/base/x%3Fy");
}

TEST(Uri, QueryParamsArePercentEncoded) {
  uri u = uri("http://h/s").with_query_param("q", "c++ websockets").with_query_param("a&b", "=");
  auto q = std::string(*u.query());
  EXPECT_EQ(q.find(' '), std::string::npos);
  EXPECT_NE(q.find("q=c%2B%2B"), std::string::npos) << q;
  EXPECT_NE(q.find("a%26b="), std::string::npos) << q;
  EXPECT_EQ(q.find("&b"), std::string::npos) << q;
  EXPECT_EQ(q, "q=c%2B%2B%20websockets&a%26b=%3D");
}

TEST(Uri, ResolvesReferences) {
  uri base("http://h:8080/a/b?c=d");
  EXPECT_EQ(base.resolve("/x").str(), "http://h:8080/x");
  EXPECT_EQ(base.resolve("y").str(), "http://h:8080/a/y");
  EXPECT_EQ(base.resolve("https://other/z").str(), "https://other/z");
  EXPECT_EQ(base.resolve("//other2/p").str(), "http://other2/p");
  EXPECT_EQ(base.resolve("?q=1").str(), "http://h:8080/a/b?q=1");
}

TEST(Uri, WithScheme) {
  EXPECT_EQ(uri("ws://h/chat").with_scheme("http").str(), "http://h/chat");
}

// Found by fuzz/uri: Boost.URL reads "http://@a@b/" as host "a" with the path "@b/", and that
// uri printed back as "http://a@b/" would name host "b".
TEST(Uri, RejectsAPathThatDoesNotStartWithASlashAfterTheAuthority) {
  EXPECT_THROW(courier::uri("http://@a@b/"), courier::invalid_uri);
  EXPECT_FALSE(courier::uri::try_parse("ws://@12@tp://9g").has_value());
  EXPECT_EQ(courier::uri("http://@a/x").host(), "a");
}

TEST(Uri, PrintsBackToAnEqualUri) {
  for (const char* text : {"http://user:pw@h:81/p?q=1#f", "https://[::1]/", "ws://h/a%20b"}) {
    courier::uri u(text);
    EXPECT_EQ(courier::uri(u.str()).str(), u.str()) << text;
  }
}

TEST(Uri, CopiesStayEqualAndDerivedUrisLeaveTheOriginalAlone) {
  const uri original("http://user@Host.example:8080/p/q?a=1#f");
  const uri copy = original;  // shares the original's buffer
  const uri derived = copy.with_query_param("b", "x y");
  EXPECT_EQ(copy, original);
  EXPECT_EQ(original.str(), "http://user@Host.example:8080/p/q?a=1#f");
  EXPECT_EQ(derived.str(), "http://user@Host.example:8080/p/q?a=1&b=x%20y#f");
  EXPECT_EQ(derived.userinfo(), "user");
  EXPECT_EQ(derived.host(), "Host.example");
  EXPECT_EQ(derived.port(), 8080);
  EXPECT_EQ(derived.path(), "/p/q");
  EXPECT_EQ(derived.fragment(), "f");
  // A query added to a uri without one, and an empty query kept as written.
  EXPECT_EQ(uri("http://h").with_query_param("k", "v").target(), "/?k=v");
  EXPECT_EQ(uri("http://h/?").query(), "");
  EXPECT_EQ(uri("http://h/?").target(), "/?");
}

TEST(Uri, DefaultMadeUriIsEmpty) {
  const uri u;
  EXPECT_EQ(u.scheme(), "");
  EXPECT_EQ(u.host(), "");
  EXPECT_EQ(u.path(), "/");
  EXPECT_FALSE(u.query().has_value());
  EXPECT_EQ(u.str(), "");
  uri moved_from("http://h/x");
  const uri moved = std::move(moved_from);
  EXPECT_EQ(moved.str(), "http://h/x");
}
