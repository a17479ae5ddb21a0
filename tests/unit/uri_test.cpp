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
