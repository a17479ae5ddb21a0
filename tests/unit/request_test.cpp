#include <courier/request.hpp>
#include <courier/response.hpp>

#include <gtest/gtest.h>

namespace cr = courier;

TEST(Request, BuilderReturnsNewValues) {
  auto base = cr::basic_request();
  auto with_header = base.header("X-A", "1");
  auto get = with_header.get(cr::uri("http://h/x"));
  EXPECT_FALSE(base.headers().contains("X-A"));
  EXPECT_TRUE(with_header.headers().contains("X-A"));
  EXPECT_FALSE(with_header.uri().has_value());
  EXPECT_EQ(get.uri()->str(), "http://h/x");
  EXPECT_EQ(get.method(), cr::method::get);
  auto post = get.post(cr::uri("http://h/y"));
  EXPECT_EQ(get.method(), cr::method::get);
  EXPECT_EQ(post.method(), cr::method::post);
}

TEST(Request, BasicRequestAsksForCompression) {
  auto accepted = std::string(*cr::basic_request().headers().get("Accept-Encoding"));
  EXPECT_EQ(accepted.rfind("gzip, deflate", 0), 0u) << accepted;
  EXPECT_TRUE(cr::empty_request().headers().empty());
}

TEST(Request, QueryMayComeBeforeTheUri) {
  auto req = cr::basic_request().query("q", "c++ websockets").get(cr::uri("https://api/search"));
  EXPECT_EQ(req.uri()->str(), "https://api/search?q=c%2B%2B%20websockets");
}

TEST(Request, HeaderInjectionRejectedAtTheBuilderCall) {
  EXPECT_THROW(cr::basic_request().header("X", "a\r\nb"), cr::invalid_header);
}

TEST(Request, Bodies) {
  auto r = cr::basic_request().body("hi");
  ASSERT_TRUE(r.has_body());
  auto* b = std::get_if<cr::bytes_body>(&r.body());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->data, "hi");
  EXPECT_EQ(b->content_type, "text/plain; charset=utf-8");
  std::byte raw[] = {std::byte{0}, std::byte{255}};
  auto bin = cr::basic_request().body(std::span<const std::byte>(raw));
  auto* bb = std::get_if<cr::bytes_body>(&bin.body());
  ASSERT_NE(bb, nullptr);
  EXPECT_EQ(bb->data, std::string("\0\xff", 2));
  EXPECT_EQ(bb->content_type, "application/octet-stream");
  auto form = cr::basic_request().form({{"a", "1"}});
  EXPECT_TRUE(std::holds_alternative<cr::form_body>(form.body()));
  EXPECT_FALSE(cr::basic_request().has_body());
}

TEST(Request, CopiesShareTheBody) {
  auto r = cr::basic_request().body(std::string(1 << 20, 'x'));
  auto copy = r.header("X", "1");
  EXPECT_EQ(&r.body(), &copy.body());
}

TEST(Request, CopiesShareStateUntilOneChanges) {
  const auto original = cr::basic_request().header("X-A", "1").get(cr::uri("http://h/x"));
  auto copy = original;  // a copy shares the state: no uri or headers copied
  EXPECT_EQ(&copy.headers(), &original.headers());
  // A builder call on an rvalue copy that still shares its state copies it first.
  auto changed = std::move(copy).header("X-B", "2").post(cr::uri("http://h/y"));
  EXPECT_NE(&changed.headers(), &original.headers());
  EXPECT_FALSE(original.headers().contains("X-B"));
  EXPECT_EQ(original.method(), cr::method::get);
  EXPECT_EQ(original.uri()->str(), "http://h/x");
  EXPECT_TRUE(changed.headers().contains("X-A"));
  EXPECT_TRUE(changed.headers().contains("X-B"));
  EXPECT_EQ(changed.method(), cr::method::post);
  // A request that owns its state alone changes it in place.
  const auto* before = &changed.headers();
  auto same = std::move(changed).header("X-C", "3");
  EXPECT_EQ(&same.headers(), before);
  // A default request has the default state, and changing it leaves other defaults alone.
  cr::request_data blank;
  EXPECT_FALSE(blank.uri().has_value());
  EXPECT_TRUE(cr::empty_request().header("X-D", "4").headers().contains("X-D"));
  EXPECT_TRUE(cr::empty_request().headers().empty());
}

TEST(Request, BasicAuth) {
  auto r = cr::basic_request().basic_auth("Aladdin", "open sesame");
  EXPECT_EQ(r.headers().get("Authorization"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(Request, Options) {
  using namespace std::chrono_literals;
  auto r = cr::basic_request()
               .follow_redirects(false)
               .max_redirects(3)
               .connect_timeout(1s)
               .read_timeout(2s)
               .timeout(3s);
  EXPECT_FALSE(r.options().follow_redirects);
  EXPECT_EQ(r.options().max_redirects, 3);
  EXPECT_EQ(r.options().connect_timeout, 1s);
  EXPECT_EQ(r.options().read_timeout, 2s);
  EXPECT_EQ(r.options().timeout, 3s);
}

namespace {
cr::response_head head(int status, std::string content_type = {}) {
  cr::response_head h;
  h.status = status;
  if (!content_type.empty()) h.headers.add("Content-Type", content_type);
  return h;
}
}  // namespace

TEST(ResponseAs, StringOrErrorSplitsOnStatus) {
  auto as = cr::as_string_or_error();
  auto ok = as.convert(head(200), cr::raw_body{"yes"});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "yes");
  auto bad = as.convert(head(404), cr::raw_body{"not here"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), "not here");
  EXPECT_THROW(bad.value(), cr::bad_expected_access);
}

TEST(ResponseAs, Latin1IsConvertedToUtf8) {
  auto text =
      cr::as_string().convert(head(200, "text/plain; charset=ISO-8859-1"), cr::raw_body{"caf\xe9"});
  EXPECT_EQ(text, "caf\xc3\xa9");
  EXPECT_EQ(
      cr::as_string().convert(head(200, "text/plain; charset=utf-8"), cr::raw_body{"caf\xc3\xa9"}),
      "caf\xc3\xa9");
}

TEST(ResponseAs, MapComposes) {
  auto as = cr::as_string().map([](std::string s) { return s.size(); }).map([](std::size_t n) {
    return n * 2;
  });
  EXPECT_EQ(as.convert(head(200), cr::raw_body{"abc"}), 6u);
  auto req = cr::basic_request().map_response(
      [](cr::expected<std::string, std::string> e) { return e.has_value(); });
  EXPECT_TRUE(req.response_as().convert(head(204), cr::raw_body{}));
}

TEST(ResponseAs, BytesFileIgnore) {
  auto bytes = cr::as_bytes().convert(head(200), cr::raw_body{std::string("\x01\x02", 2)});
  ASSERT_EQ(bytes.size(), 2u);
  EXPECT_EQ(bytes[1], std::byte{2});
  auto file = cr::as_file("/tmp/x");
  EXPECT_TRUE(std::holds_alternative<cr::to_file>(file.destination()));
  EXPECT_TRUE(std::holds_alternative<cr::to_discard>(cr::ignore().destination()));
}
