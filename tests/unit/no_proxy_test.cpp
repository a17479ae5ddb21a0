// Proxy uris, choosing a proxy for a uri, NO_PROXY matching (names, IPs, CIDR, "*"), and
// reading the environment like curl: lower case first, empty means unset.
#include <courier/error.hpp>
#include <courier/proxy.hpp>

#include <gtest/gtest.h>

#include <map>

namespace cr = courier;

TEST(ProxyUri, ParsesSchemesCredentialsAndDefaultPorts) {
  cr::proxy p("http://us%40er:p%3Ass@Proxy.Example:3128");
  EXPECT_EQ(p.type(), cr::proxy::kind::http);
  EXPECT_EQ(p.host(), "proxy.example");
  EXPECT_EQ(p.port(), 3128);
  EXPECT_TRUE(p.has_credentials());
  EXPECT_EQ(p.username(), "us@er");
  EXPECT_EQ(p.password(), "p:ss");
  EXPECT_EQ(cr::proxy("socks5://h").port(), 1080);
  EXPECT_EQ(cr::proxy("socks5h://h").type(), cr::proxy::kind::socks5h);
  EXPECT_EQ(cr::proxy("https://h").port(), 443);
  EXPECT_EQ(cr::proxy("http://h").port(), 1080);  // curl's default for every proxy but https
  EXPECT_EQ(cr::proxy("h:8080").type(), cr::proxy::kind::http);  // no scheme: http, as curl
  EXPECT_EQ(cr::proxy("http://h:8080/").port(), 8080);
  EXPECT_EQ(cr::proxy("http://[::1]:3128").host(), "::1");
  EXPECT_FALSE(cr::proxy("http://h:1").has_credentials());
}

TEST(ProxyUri, RedactedHidesThePasswordOnly) {
  EXPECT_EQ(cr::proxy("http://bob:hunter2@h:3128").redacted(), "http://bob:***@h:3128");
  EXPECT_EQ(cr::proxy("socks5h://[::1]").redacted(), "socks5h://[::1]:1080");
}

TEST(ProxyUri, BadUrisAreInvalidRequestsWithoutThePassword) {
  for (const char* bad :
       {"", "ftp://h:1", "http://h:0", "http://h:70000", "http://h:x", "http://h/path",
        "http://[::1", "http://:8080", "http://a b:1", "http://u:p%zz@h:1"}) {
    EXPECT_THROW(cr::proxy{bad}, cr::invalid_request) << bad;
  }
  try {
    cr::proxy("socks4://bob:hunter2@h:1");
    FAIL();
  } catch (const cr::invalid_request& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("socks4"), std::string::npos) << e.what();
  }
}

TEST(NoProxy, NamesMatchThemselvesAndSubdomains) {
  EXPECT_TRUE(cr::no_proxy_matches("example.com", "example.com"));
  EXPECT_TRUE(cr::no_proxy_matches("example.com", "api.example.com"));
  EXPECT_TRUE(cr::no_proxy_matches(".example.com", "example.com"));
  EXPECT_TRUE(cr::no_proxy_matches(".example.com", "a.b.example.com"));
  EXPECT_TRUE(cr::no_proxy_matches("EXAMPLE.com", "Api.Example.COM."));
  EXPECT_FALSE(cr::no_proxy_matches("example.com", "badexample.com"));
  EXPECT_FALSE(cr::no_proxy_matches("example.com", "example.org"));
  EXPECT_FALSE(cr::no_proxy_matches("api.example.com", "example.com"));
}

TEST(NoProxy, ListsStarAndEmptyEntries) {
  EXPECT_TRUE(cr::no_proxy_matches("a.org, b.org ,c.org", "c.org"));
  EXPECT_TRUE(cr::no_proxy_matches("a.org b.org", "b.org"));
  EXPECT_FALSE(cr::no_proxy_matches(",, ,", "a.org"));
  EXPECT_FALSE(cr::no_proxy_matches("", "a.org"));
  EXPECT_TRUE(cr::no_proxy_matches("*", "anything.example"));
  EXPECT_TRUE(cr::no_proxy_matches("*", "10.0.0.1"));
}

TEST(NoProxy, AddressesAndCidrRanges) {
  EXPECT_TRUE(cr::no_proxy_matches("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(cr::no_proxy_matches("127.0.0.1", "127.0.0.2"));
  EXPECT_TRUE(cr::no_proxy_matches("10.0.0.0/8", "10.200.3.4"));
  EXPECT_FALSE(cr::no_proxy_matches("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(cr::no_proxy_matches("192.168.1.0/23", "192.168.0.77"));
  EXPECT_FALSE(cr::no_proxy_matches("192.168.2.0/23", "192.168.1.77"));
  EXPECT_TRUE(cr::no_proxy_matches("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(cr::no_proxy_matches("::1", "::1"));
  EXPECT_TRUE(cr::no_proxy_matches("[::1]", "[::1]"));
  EXPECT_TRUE(cr::no_proxy_matches("fd00::/8", "fd12:3456::1"));
  EXPECT_FALSE(cr::no_proxy_matches("fd00::/8", "fe80::1"));
  EXPECT_FALSE(cr::no_proxy_matches("10.0.0.0/8", "fd00::1"));  // families never mix
  EXPECT_FALSE(cr::no_proxy_matches("10.0.0.0/33", "10.0.0.1"));
  EXPECT_FALSE(cr::no_proxy_matches("10.0.0.0/x", "10.0.0.1"));
  EXPECT_FALSE(cr::no_proxy_matches("10.0.0.0/8", "ten.example"));  // no DNS lookups
  EXPECT_FALSE(cr::no_proxy_matches("example.com", "10.0.0.1"));
}

TEST(ProxySelect, SchemeEntriesThenAllThenNoProxy) {
  cr::proxy_settings s;
  s.http = cr::proxy("http://h1:1");
  s.all = cr::proxy("socks5h://s:2");
  s.no_proxy = "internal.example";
  EXPECT_EQ(s.select(cr::uri("http://a.example/"))->host(), "h1");
  EXPECT_EQ(s.select(cr::uri("ws://a.example/"))->host(), "h1");
  EXPECT_EQ(s.select(cr::uri("https://a.example/"))->host(), "s");
  EXPECT_EQ(s.select(cr::uri("wss://a.example/"))->host(), "s");
  EXPECT_FALSE(s.select(cr::uri("https://x.internal.example/")));
  EXPECT_FALSE(cr::proxy_settings::direct().select(cr::uri("http://a.example/")));
  EXPECT_TRUE(cr::proxy_settings::direct().empty());
}

namespace {
auto lookup_in(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST(ProxyEnvironment, LowerCaseWinsAndEmptyIsUnset) {
  auto s = cr::proxy_from_environment(lookup_in({{"http_proxy", "http://lower:1"},
                                                 {"HTTP_PROXY", "http://upper:1"},
                                                 {"https_proxy", ""},
                                                 {"HTTPS_PROXY", "http://secure:2"},
                                                 {"ALL_PROXY", "socks5h://all:3"},
                                                 {"NO_PROXY", "localhost,10.0.0.0/8"}}));
  EXPECT_EQ(s.http->host(), "lower");
  EXPECT_EQ(s.https->host(), "secure");
  EXPECT_EQ(s.all->host(), "all");
  EXPECT_EQ(s.no_proxy, "localhost,10.0.0.0/8");
  EXPECT_FALSE(s.select(cr::uri("http://10.1.1.1/")));
  EXPECT_EQ(s.select(cr::uri("http://example.org/"))->host(), "lower");
}

TEST(ProxyEnvironment, NothingSetIsDirect) {
  EXPECT_TRUE(cr::proxy_from_environment(lookup_in({})).empty());
}

TEST(ProxyEnvironment, BadValueNamesTheVariableButNotThePassword) {
  try {
    cr::proxy_from_environment(lookup_in({{"https_proxy", "gopher://u:hunter2@h:1"}}));
    FAIL();
  } catch (const cr::invalid_request& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("https_proxy"), std::string::npos) << what;
    EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
  }
}

TEST(ProxyEnvironment, ABadUpperCaseValueIsNamedAsItIsSpelled) {
  try {
    cr::proxy_from_environment(lookup_in({{"HTTPS_PROXY", "gopher://h:1"}}));
    FAIL();
  } catch (const cr::invalid_request& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("HTTPS_PROXY: ", 0), 0u) << what;
  }
}
