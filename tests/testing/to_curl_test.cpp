// to_curl: the commands are run with the real curl against httpbin's /anything, which echoes
// the request, and compared with what courier itself sends.
#include <courier/courier.hpp>
#include <courier/to_curl.hpp>

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#ifdef COURIER_HAVE_NLOHMANN_JSON
#include <nlohmann/json.hpp>
#endif

namespace cr = courier;

namespace {

TEST(to_curl, quotes_for_a_posix_shell) {
  EXPECT_EQ(cr::shell_quote("plain-word_1.2"), "plain-word_1.2");
  EXPECT_EQ(cr::shell_quote(""), "''");
  EXPECT_EQ(cr::shell_quote("it's $HOME"), "'it'\\''s $HOME'");
}

TEST(to_curl, shape_of_a_simple_get) {
  auto req = cr::empty_request().follow_redirects(false).get(cr::uri("https://a.example/x?q=1"));
  EXPECT_EQ(cr::to_curl(req), "curl 'https://a.example/x?q=1'");
  auto put = cr::empty_request().body("hi").put(cr::uri("http://a.example/"));
  EXPECT_NE(cr::to_curl(put).find("-X PUT"), std::string::npos);
  EXPECT_NE(cr::to_curl(put).find("--data-raw hi"), std::string::npos);
}

TEST(to_curl, redacts_sensitive_headers_on_request) {
  auto req = cr::basic_request()
                 .bearer_auth("s3cret")
                 .header("Cookie", "id=42")
                 .header("X-Api-Key", "k3y")
                 .header("X-Plain", "visible")
                 .get(cr::uri("https://a.example/"));
  auto open = cr::to_curl(req);
  EXPECT_NE(open.find("s3cret"), std::string::npos);
  cr::curl_options o;
  o.redact = true;
  o.redact_headers = {"x-api-key"};
  auto hidden = cr::to_curl(req, o);
  EXPECT_EQ(hidden.find("s3cret"), std::string::npos) << hidden;
  EXPECT_EQ(hidden.find("id=42"), std::string::npos) << hidden;
  EXPECT_EQ(hidden.find("k3y"), std::string::npos) << hidden;
  EXPECT_NE(hidden.find("'Authorization: [REDACTED]'"), std::string::npos) << hidden;
  EXPECT_NE(hidden.find("visible"), std::string::npos);
  cr::curl_options only_names;
  only_names.redact_headers = {"X-Api-Key"};
  auto some = cr::to_curl(req, only_names);
  EXPECT_NE(some.find("s3cret"), std::string::npos);
  EXPECT_EQ(some.find("k3y"), std::string::npos);
}

TEST(to_curl, the_requests_proxy_with_credentials_hidden_on_request) {
  auto req = cr::empty_request()
                 .follow_redirects(false)
                 .proxy(cr::proxy("socks5h://ann:p%40ss@127.0.0.1:1080"))
                 .get(cr::uri("https://a.example/"));
  EXPECT_EQ(cr::to_curl(req),
            "curl https://a.example/ --proxy socks5h://ann:p%40ss@127.0.0.1:1080");
  cr::curl_options o;
  o.redact = true;
  auto hidden = cr::to_curl(req, o);
  EXPECT_EQ(hidden.find("p%40ss"), std::string::npos) << hidden;
  EXPECT_NE(hidden.find("--proxy 'socks5h://ann:***@127.0.0.1:1080'"), std::string::npos) << hidden;
  auto direct =
      cr::empty_request().follow_redirects(false).no_proxy().get(cr::uri("http://a.example/"));
  EXPECT_EQ(cr::to_curl(direct), "curl http://a.example/ --noproxy '*'");
  // No proxy chosen on the request: nothing added (the backend's choice is not the request's).
  EXPECT_EQ(cr::to_curl(cr::empty_request().follow_redirects(false).get(cr::uri("http://a/"))),
            "curl http://a/");
}

TEST(to_curl, needs_a_uri) {
  EXPECT_THROW(cr::to_curl(cr::basic_request()), cr::invalid_request);
}

#ifdef COURIER_HAVE_NLOHMANN_JSON
nlohmann::json run_curl(const std::string& command) {
  // Quiet curl; its errors go with the output into the failure message.
  std::string full = command;
  auto at = full.find("curl ");
  if (at == std::string::npos) throw std::runtime_error("not a curl command: " + command);
  full.insert(at + 5, "--silent --show-error ");
  full += " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) throw std::runtime_error("curl failed (" + std::to_string(rc) + "): " + out);
  return nlohmann::json::parse(out);
}

// The same request through courier and through the curl command: httpbin's echoes agree.
template <class T>
void expect_same_echo(const cr::request<T>& req, std::vector<std::string> keys,
                      std::vector<std::string> headers) {
  SCOPED_TRACE(cr::to_curl(req));
  cr::asio_backend backend;
  auto ours = req.response_as(cr::as_string()).send(backend);
  ASSERT_EQ(ours.status(), 200) << ours.body();
  auto a = nlohmann::json::parse(ours.body());
  auto b = run_curl(cr::to_curl(req));
  EXPECT_EQ(a["method"], b["method"]);
  EXPECT_EQ(a["url"], b["url"]);
  for (const auto& k : keys)
    EXPECT_EQ(a[k], b[k]) << k;
  for (const auto& h : headers)
    EXPECT_EQ(a["headers"][h], b["headers"][h]) << h;
}

std::string anything(std::string_view rest = "") {
  return cr::test::httpbin_url("/anything" + std::string(rest));
}

TEST(to_curl_with_httpbin, get_with_query_and_headers) {
  auto req = cr::basic_request()
                 .header("X-Quote", "it's \"quoted\" $HOME `x`")
                 .header("Accept", "application/json")
                 .query("q", "c++ & more")
                 .get(cr::uri(anything("/path")));
  expect_same_echo(req, {"args", "data"}, {"X-Quote", "Accept", "Accept-Encoding"});
}

TEST(to_curl_with_httpbin, methods_and_text_body) {
  for (auto m : {cr::method::post, cr::method::put, cr::method::patch, cr::method::delete_}) {
    auto req = cr::basic_request().body("line one\nit's line two\n").method(m, cr::uri(anything()));
    expect_same_echo(req, {"data", "form"}, {"Content-Type", "Content-Length"});
  }
}

TEST(to_curl_with_httpbin, json_and_binary_bodies) {
  auto json = cr::basic_request()
                  .body(R"({"a": [1, "x'y"]})", "application/json")
                  .post(cr::uri(anything()));
  expect_same_echo(json, {"json", "data"}, {"Content-Type"});
  std::string bytes("\x00\x01\xff%\\'text", 9);
  auto bin = cr::basic_request()
                 .body(std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()),
                                                  bytes.size()))
                 .post(cr::uri(anything()));
  expect_same_echo(bin, {"data"}, {"Content-Type", "Content-Length"});
}

TEST(to_curl_with_httpbin, form_body) {
  auto req = cr::basic_request()
                 .form({{"name", "Ada Lovelace"}, {"note", "a&b=c'd"}})
                 .post(cr::uri(anything()));
  expect_same_echo(req, {"form", "data"}, {"Content-Type"});
}

TEST(to_curl_with_httpbin, file_body_and_multipart) {
  auto dir = std::filesystem::temp_directory_path() / "courier-to-curl";
  std::filesystem::create_directories(dir);
  auto file = dir / "it's a file.txt";
  std::ofstream(file) << "file body\nsecond line\n";
  auto raw = cr::basic_request().body_file(file, "text/plain").put(cr::uri(anything()));
  expect_same_echo(raw, {"data"}, {"Content-Type", "Content-Length"});
  auto multi =
      cr::basic_request()
          .multipart({cr::multipart_part::field("title", "@not-a-file <x>"),
                      cr::multipart_part::from_file("upload", file, "text/plain"),
                      cr::multipart_part::from_bytes("blob", "in memory", "b.txt", "text/plain")})
          .post(cr::uri(anything()));
  expect_same_echo(multi, {"form", "files"}, {});
  std::filesystem::remove_all(dir);
}

TEST(to_curl_with_httpbin, compressed_answer_and_redirects) {
  auto gz = cr::basic_request().get(cr::uri(cr::test::httpbin_url("/gzip")));
  auto out = run_curl(cr::to_curl(gz));
  EXPECT_EQ(out["gzipped"], true);
  auto redirected =
      cr::basic_request().get(cr::uri(cr::test::httpbin_url("/redirect-to?url=/anything/there")));
  auto r = run_curl(cr::to_curl(redirected));
  EXPECT_NE(r["url"].get<std::string>().find("/anything/there"), std::string::npos);
}
#endif

}  // namespace

TEST(to_curl, the_http_version_as_curls_option) {
  const auto req = cr::empty_request().get(cr::uri("https://a.example/"));
  EXPECT_EQ(cr::to_curl(req).find("--http"), std::string::npos);
  EXPECT_NE(cr::to_curl(req.version(cr::http_version::http2)).find(" --http2"), std::string::npos);
  EXPECT_NE(cr::to_curl(req.version(cr::http_version::http1_1)).find(" --http1.1"),
            std::string::npos);
  EXPECT_NE(cr::to_curl(req.version(cr::http_version::http2_prior_knowledge))
                .find(" --http2-prior-knowledge"),
            std::string::npos);
}
