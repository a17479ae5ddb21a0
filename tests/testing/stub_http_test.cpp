// stub_backend answering HTTP requests: every rule and answer kind, through the sync API and
// every completion token.
#include <courier/courier.hpp>
#include <courier/testing/stub_backend.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#ifdef COURIER_HAVE_NLOHMANN_JSON
#include <courier/json.hpp>
#endif

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

namespace cr = courier;
namespace ct = courier::testing;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

const cr::uri api("https://api.example.org/v1/items?page=2");

TEST(stub_http, respond_gives_status_body_and_headers) {
  ct::stub_backend stub;
  stub.when(ct::path_is("/v1/items"))
      .respond(201, "created", {{"Content-Type", "text/plain"}, {"X-Id", "7"}});
  auto r = cr::basic_request().get(api).send(stub);
  EXPECT_EQ(r.status(), 201);
  EXPECT_EQ(r.reason(), "Created");
  EXPECT_EQ(r.header("X-Id"), "7");
  ASSERT_TRUE(r.body().has_value());
  EXPECT_EQ(*r.body(), "created");
  EXPECT_EQ(r.uri().str(), api.str());
}

TEST(stub_http, error_statuses_go_to_the_error_side_as_with_a_real_server) {
  ct::stub_backend stub;
  stub.when_any().respond(404, "no such item");
  auto r = cr::basic_request().get(api).send(stub);
  EXPECT_EQ(r.status(), 404);
  ASSERT_FALSE(r.body().has_value());
  EXPECT_EQ(r.body().error(), "no such item");
}

TEST(stub_http, first_matching_rule_wins) {
  ct::stub_backend stub;
  stub.when(ct::method_is(cr::method::post)).respond(200, "post");
  stub.when(ct::uri_starts_with("https://api.example.org/v1/")).respond(200, "prefix");
  stub.when_any().respond(200, "any");
  EXPECT_EQ(*cr::basic_request().post(api).send(stub).body(), "post");
  EXPECT_EQ(*cr::basic_request().get(api).send(stub).body(), "prefix");
  EXPECT_EQ(*cr::basic_request().get(cr::uri("https://other.example/")).send(stub).body(), "any");
}

TEST(stub_http, matchers_on_uri_headers_and_body) {
  ct::stub_backend stub;
  auto exact = stub.when(cr::method::get, "https://api.example.org/v1/items?page=2");
  exact.respond(200, "exact");
  auto pattern = stub.when(ct::uri_matches(R"(https://api\.example\.org/users/\d+)"));
  pattern.respond(200, "user");
  auto header = stub.when(ct::header_is("X-Mode", "fast") && ct::host_is("h.example"));
  header.respond(200, "fast");
  auto form = stub.when(ct::body_is("a=1&b=x+y"));
  form.respond(200, "form");
  auto contains = stub.when(ct::body_contains("needle") && !ct::has_header("X-Skip"));
  contains.respond(200, "needle");
  auto query = stub.when(ct::query_has("q", "c++"));
  query.respond(200, "query");
  auto pred =
      stub.when(ct::where([](const cr::request_data& r) { return r.headers().size() == 3; }));
  pred.respond(200, "three headers");

  EXPECT_EQ(*cr::basic_request().get(api).send(stub).body(), "exact");
  EXPECT_EQ(*cr::basic_request().get(cr::uri("https://api.example.org/users/42")).send(stub).body(),
            "user");
  EXPECT_THROW(cr::basic_request().get(cr::uri("https://api.example.org/users/x")).send(stub),
               ct::unmatched_request);
  EXPECT_EQ(*cr::basic_request()
                 .header("X-Mode", "fast")
                 .get(cr::uri("http://h.example/"))
                 .send(stub)
                 .body(),
            "fast");
  EXPECT_EQ(*cr::basic_request()
                 .form({{"a", "1"}, {"b", "x y"}})
                 .post(cr::uri("http://f.example/"))
                 .send(stub)
                 .body(),
            "form");
  EXPECT_EQ(*cr::empty_request()
                 .body("hay needle hay")
                 .put(cr::uri("http://n.example/"))
                 .send(stub)
                 .body(),
            "needle");
  EXPECT_EQ(*cr::empty_request()
                 .get(cr::uri("http://q.example/").with_query_param("q", "c++"))
                 .send(stub)
                 .body(),
            "query");
  EXPECT_EQ(*cr::empty_request()
                 .header("A", "1")
                 .header("B", "2")
                 .header("C", "3")
                 .get(cr::uri("http://p.example/"))
                 .send(stub)
                 .body(),
            "three headers");
  EXPECT_EQ(exact.hits(), 1u);
  EXPECT_EQ(pattern.hits(), 1u);
  EXPECT_EQ(header.hits(), 1u);
  EXPECT_EQ(form.hits(), 1u);
  EXPECT_EQ(contains.hits(), 1u);
  EXPECT_EQ(query.hits(), 1u);
  EXPECT_EQ(pred.hits(), 1u);
}

TEST(stub_http, file_bodies_are_matched_on_their_content) {
  auto path = std::filesystem::temp_directory_path() / "courier-stub-body.txt";
  std::ofstream(path) << "file content";
  ct::stub_backend stub;
  stub.when(ct::body_is("file content")).respond(200, "seen");
  EXPECT_EQ(*cr::basic_request().body_file(path).post(api).send(stub).body(), "seen");
  std::filesystem::remove(path);
}

TEST(stub_http, unmatched_request_names_method_uri_and_rules) {
  ct::stub_backend stub;
  stub.when(ct::path_is("/a")).respond(200);
  try {
    cr::basic_request().delete_(cr::uri("https://x.example/b?c=1")).send(stub);
    FAIL() << "expected unmatched_request";
  } catch (const ct::unmatched_request& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("DELETE https://x.example/b?c=1"), std::string::npos) << what;
    EXPECT_NE(what.find("path \"/a\""), std::string::npos) << what;
    EXPECT_EQ(e.code(), cr::errc::invalid_request);
  }
  ASSERT_EQ(stub.recorded_count(), 1u);
  EXPECT_TRUE(stub.last_recorded().failed());
}

TEST(stub_http, sequence_answers_in_order_then_repeats_the_last) {
  ct::stub_backend stub;
  stub.when_any().respond_sequence({{503, "busy"}, {200, "one"}, {200, "two"}});
  std::vector<std::string> seen;
  for (int i = 0; i < 5; ++i) {
    auto r = cr::empty_request().response_as(cr::as_string()).get(api).send(stub);
    seen.push_back(std::to_string(r.status()) + " " + r.body());
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"503 busy", "200 one", "200 two", "200 two", "200 two"}));
}

TEST(stub_http, computed_answer_sees_the_request) {
  ct::stub_backend stub;
  stub.when_any().respond_with([](const cr::request_data& r) {
    return ct::answer{200, r.method().name() + " " + std::string(r.uri()->path()) + " " +
                               std::string(r.headers().get("X-Who").value_or("?"))};
  });
  auto r = cr::basic_request().header("X-Who", "ada").patch(api).send(stub);
  EXPECT_EQ(*r.body(), "PATCH /v1/items ada");
}

TEST(stub_http, errors_have_the_asio_backends_types) {
  ct::stub_backend stub;
  stub.when(ct::host_is("connect.example")).fail_connect();
  stub.when(ct::host_is("timeout.example")).fail_timeout("custom message");
  stub.when(ct::host_is("read.example")).fail_read();
  stub.when(ct::host_is("computed.example")).respond_with([](const cr::request_data&) {
    return ct::failure(cr::errc::tls_failed);
  });
  EXPECT_THROW(cr::basic_request().get(cr::uri("http://connect.example/")).send(stub),
               cr::connect_error);
  try {
    cr::basic_request().get(cr::uri("http://timeout.example/")).send(stub);
    FAIL();
  } catch (const cr::timeout_error& e) {
    EXPECT_STREQ(e.what(), "custom message");
  }
  try {
    cr::basic_request().get(cr::uri("http://read.example/x")).send(stub);
    FAIL();
  } catch (const cr::read_error& e) {
    EXPECT_NE(std::string(e.what()).find("GET http://read.example/x"), std::string::npos);
  }
  EXPECT_THROW(cr::basic_request().get(cr::uri("http://computed.example/")).send(stub),
               cr::tls_error);
}

TEST(stub_http, delay_is_honoured_and_does_not_hold_up_other_requests) {
  ct::stub_backend stub;
  stub.when(ct::path_is("/slow")).respond(200, "slow").delay(300ms);
  stub.when(ct::path_is("/fast")).respond(200, "fast");
  auto start = std::chrono::steady_clock::now();
  auto slow =
      cr::basic_request().get(cr::uri("http://d.example/slow")).async_send(stub, net::use_future);
  auto fast = cr::basic_request().get(cr::uri("http://d.example/fast")).send(stub);
  auto fast_done = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(*fast.body(), "fast");
  EXPECT_LT(fast_done, 250ms);
  EXPECT_EQ(*slow.get().body(), "slow");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST(stub_http, a_delay_longer_than_the_read_timeout_is_a_timeout) {
  ct::stub_backend stub;
  stub.when_any().respond(ct::answer(200, "late").after(2s));
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(cr::basic_request().read_timeout(100ms).get(api).send(stub), cr::timeout_error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST(stub_http, callback_token) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "cb");
  std::promise<std::pair<std::exception_ptr, std::string>> p;
  cr::basic_request().get(api).async_send(
      stub, [&](std::exception_ptr e, cr::response<cr::expected<std::string, std::string>> r) {
        p.set_value({e, r.body().value_or("")});
      });
  auto [e, body] = p.get_future().get();
  EXPECT_FALSE(e);
  EXPECT_EQ(body, "cb");
}

TEST(stub_http, callback_token_reports_the_exception) {
  ct::stub_backend stub;
  stub.when_any().fail_connect();
  std::promise<std::exception_ptr> p;
  cr::basic_request().get(api).async_send(stub,
                                          [&](std::exception_ptr e, auto) { p.set_value(e); });
  auto e = p.get_future().get();
  EXPECT_EQ(cr::error_code_of(e), cr::errc::connect_failed);
  EXPECT_THROW(std::rethrow_exception(e), cr::connect_error);
}

TEST(stub_http, future_token) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "future");
  auto f = cr::basic_request().get(api).async_send(stub, net::use_future);
  EXPECT_EQ(*f.get().body(), "future");
  stub.clear_rules();
  auto g = cr::basic_request().get(api).async_send(stub, net::use_future);
  EXPECT_THROW(g.get(), cr::invalid_request);
}

TEST(stub_http, coroutine_token_resumes_on_its_own_executor) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "co");
  net::io_context ioc;
  std::string body;
  std::thread::id resumed_on;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        auto r = co_await cr::basic_request().get(api).async_send(stub, net::use_awaitable);
        body = *r.body();
        resumed_on = std::this_thread::get_id();
      },
      net::detached);
  ioc.run();
  EXPECT_EQ(body, "co");
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(stub_http, deferred_token_is_lazy) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "lazy");
  auto op = cr::basic_request().get(api).async_send(stub, net::deferred);
  EXPECT_EQ(stub.recorded_count(), 0u);  // nothing happens until it is launched
  auto f = std::move(op)(net::use_future);
  EXPECT_EQ(*f.get().body(), "lazy");
  EXPECT_EQ(stub.recorded_count(), 1u);
}

TEST(stub_http, as_file_writes_the_answer_to_the_file) {
  auto path = std::filesystem::temp_directory_path() / "courier-stub-download.bin";
  std::filesystem::remove(path);
  ct::stub_backend stub;
  stub.when_any().respond(200, std::string("\0binary\xff", 8));
  auto r = cr::empty_request().response_as(cr::as_file(path)).get(api).send(stub);
  EXPECT_EQ(r.body(), path);
  std::ifstream in(path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, std::string("\0binary\xff", 8));
  std::filesystem::remove(path);
  ASSERT_TRUE(stub.last_recorded().response);
  EXPECT_FALSE(stub.last_recorded().body);  // not read into memory
}

TEST(stub_http, ignore_and_bytes_and_map) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "12345");
  auto ignored = cr::empty_request().response_as(cr::ignore()).get(api).send(stub);
  EXPECT_EQ(ignored.status(), 200);
  auto bytes = cr::empty_request().response_as(cr::as_bytes()).get(api).send(stub);
  EXPECT_EQ(bytes.body().size(), 5u);
  auto mapped = cr::empty_request()
                    .response_as(cr::as_string())
                    .map_response([](std::string s) { return std::stoi(s); })
                    .get(api)
                    .send(stub);
  EXPECT_EQ(mapped.body(), 12345);
}

TEST(stub_http, max_body_size_applies) {
  ct::stub_backend stub;
  stub.when_any().respond(200, std::string(100, 'x'));
  EXPECT_THROW(cr::basic_request().max_body_size(10).get(api).send(stub), cr::body_too_large);
}

TEST(stub_http, charset_is_decoded_like_a_real_answer) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "caf\xe9", {{"Content-Type", "text/plain; charset=ISO-8859-1"}});
  EXPECT_EQ(*cr::basic_request().get(api).send(stub).body(), "caf\xc3\xa9");
}

#ifdef COURIER_HAVE_NLOHMANN_JSON
struct item {
  int id;
  std::string name;
};
void from_json(const nlohmann::json& j, item& i) {
  j.at("id").get_to(i.id);
  j.at("name").get_to(i.name);
}

TEST(stub_http, as_json_goes_through_the_same_decoding) {
  ct::stub_backend stub;
  stub.when(ct::path_is("/ok")).respond(200, R"({"id": 7, "name": "lamp"})");
  stub.when(ct::path_is("/bad")).respond(200, R"({"id": "seven"})");
  stub.when(ct::path_is("/missing")).respond(404, "nope");
  auto r =
      cr::empty_request().response_as(cr::as_json<item>()).get(cr::uri("http://j/ok")).send(stub);
  EXPECT_EQ(r.body().id, 7);
  EXPECT_EQ(r.body().name, "lamp");
  EXPECT_THROW(
      cr::empty_request().response_as(cr::as_json<item>()).get(cr::uri("http://j/bad")).send(stub),
      cr::decode_error);
  auto f = cr::empty_request()
               .response_as(cr::as_json<item>())
               .get(cr::uri("http://j/missing"))
               .async_send(stub, net::use_future);
  try {
    f.get();
    FAIL();
  } catch (const cr::error& e) {
    EXPECT_EQ(e.code(), cr::errc::decode_failed);
    EXPECT_STREQ(e.what(), "as_json: the server answered 404, not 2xx; body: \"nope\"");
  }
}

TEST(stub_http, as_json_or_error_keeps_error_statuses_apart_from_bad_json) {
  ct::stub_backend stub;
  stub.when(ct::path_is("/ok")).respond(200, R"({"id": 7, "name": "lamp"})");
  stub.when(ct::path_is("/missing")).respond(404, R"({"error": "no such item"})");
  stub.when(ct::path_is("/down")).respond(503, "down\nfor maintenance");
  stub.when(ct::path_is("/wrong-type")).respond(200, R"({"id": "seven"})");
  stub.when(ct::path_is("/not-json")).respond(200, "<html>");
  auto get = [&](const char* path) {
    return cr::empty_request()
        .response_as(cr::as_json_or_error<item>())
        .get(cr::uri(std::string("http://j") + path))
        .send(stub)
        .body();
  };

  auto ok = get("/ok");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->id, 7);
  EXPECT_EQ(ok->name, "lamp");

  // An error status is a value with its status and body, not an exception.
  auto missing = get("/missing");
  ASSERT_FALSE(missing.has_value());
  ASSERT_NE(missing.error().as_http_error(), nullptr);
  EXPECT_EQ(missing.error().as_deserialization_error(), nullptr);
  EXPECT_EQ(*missing.error().as_http_error(),
            (cr::json_error::http_error{404, R"({"error": "no such item"})"}));
  EXPECT_EQ(missing.error().message(),
            R"(the server answered 404, not 2xx; body: "{\"error\": \"no such item\"}")");

  auto down = get("/down");
  ASSERT_FALSE(down.has_value());
  ASSERT_NE(down.error().as_http_error(), nullptr);
  EXPECT_EQ(down.error().as_http_error()->status, 503);
  EXPECT_EQ(down.error().body(), "down\nfor maintenance");
  EXPECT_EQ(down.error().message(),
            R"(the server answered 503, not 2xx; body: "down\x0afor maintenance")");

  // A 2xx body that is not the asked JSON is the other alternative, with the parser's words.
  auto wrong = get("/wrong-type");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().as_http_error(), nullptr);
  const auto* d = wrong.error().as_deserialization_error();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->body, R"({"id": "seven"})");
  EXPECT_NE(d->message.find("type must be number"), std::string::npos) << d->message;

  auto html = get("/not-json");
  ASSERT_FALSE(html.has_value());
  ASSERT_NE(html.error().as_deserialization_error(), nullptr);
  EXPECT_EQ(html.error().body(), "<html>");
  EXPECT_EQ(html.error().message().rfind(
                "the body is not the expected JSON ([json.exception.parse_error", 0),
            0u)
      << html.error().message();

  // Async: the same value, and the exception pointer stays null.
  auto f = cr::empty_request()
               .response_as(cr::as_json_or_error<nlohmann::json>())
               .get(cr::uri("http://j/missing"))
               .async_send(stub, net::use_future);
  auto res = f.get();
  EXPECT_EQ(res.status(), 404);
  ASSERT_FALSE(res.body().has_value());
  EXPECT_EQ(res.body().error().as_http_error()->status, 404);
}
#endif

TEST(stub_http, redirects_are_followed_with_history) {
  ct::stub_backend stub;
  stub.when(ct::path_is("/old")).respond(301, "", {{"Location", "/new"}});
  stub.when(ct::path_is("/new")).respond(200, "moved here");
  auto r = cr::basic_request().get(cr::uri("http://r.example/old")).send(stub);
  EXPECT_EQ(*r.body(), "moved here");
  ASSERT_EQ(r.history().size(), 1u);
  EXPECT_EQ(r.history()[0].head.status, 301);
  EXPECT_EQ(r.uri().str(), "http://r.example/new");
  auto no =
      cr::basic_request().follow_redirects(false).get(cr::uri("http://r.example/old")).send(stub);
  EXPECT_EQ(no.status(), 301);
}

TEST(stub_http, recording_keeps_request_response_and_body) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "recorded", {{"X-A", "b"}});
  cr::basic_request().header("X-Req", "1").post(api).body("payload").send(stub);
  auto all = stub.recorded();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].request.method(), cr::method::post);
  EXPECT_EQ(all[0].request.headers().get("X-Req"), "1");
  EXPECT_EQ(ct::body_bytes(all[0].request), "payload");
  EXPECT_EQ(all[0].status(), 200);
  EXPECT_EQ(all[0].response->headers.get("X-A"), "b");
  EXPECT_EQ(all[0].body, "recorded");
  EXPECT_FALSE(all[0].websocket);
  stub.clear_recorded();
  EXPECT_EQ(stub.recorded_count(), 0u);
}

TEST(stub_http, recording_is_thread_safe) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "x");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i)
        cr::basic_request().get(api).send(stub);
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(stub.recorded_count(), 100u);
}

TEST(stub_http, destroying_the_stub_aborts_pending_answers) {
  std::future<cr::response<cr::expected<std::string, std::string>>> pending;
  {
    ct::stub_backend stub;
    stub.when_any().respond(200, "never").delay(10s);
    pending = cr::basic_request().get(api).async_send(stub, net::use_future);
  }
  ASSERT_EQ(pending.wait_for(2s), std::future_status::ready);
  try {
    pending.get();
    FAIL();
  } catch (const cr::error& e) {
    EXPECT_EQ(e.code(), cr::errc::operation_aborted);
  }
}

// --- the fields a request goes out with ----------------------------------------------------------

TEST(stub_http, header_matchers_see_the_fields_the_body_and_uri_imply) {
  ct::stub_backend stub;
  auto form = stub.when(ct::header_is("Content-Type", "application/x-www-form-urlencoded") &&
                        ct::header_is("Content-Length", "9"));
  form.respond(200, "form");
  auto multipart =
      stub.when(ct::header_is("Content-Type", "multipart/form-data; boundary=courier-stub"));
  multipart.respond(200, "multipart");
  auto text = stub.when(ct::header_is("Content-Type", "text/plain; charset=utf-8"));
  text.respond(200, "text");
  auto empty_post =
      stub.when(ct::method_is(cr::method::post) && ct::header_is("Content-Length", "0") &&
                !ct::has_header("Content-Type"));
  empty_post.respond(200, "empty post");
  auto defaults = stub.when(ct::header_is("Host", "h.example:8080") &&
                            ct::header_is("User-Agent", "courier/0.1") &&
                            ct::header_is("Accept", "*/*") && !ct::has_header("Content-Length"));
  defaults.respond(200, "defaults");

  const cr::uri u("http://h.example:8080/x");
  EXPECT_EQ(*cr::basic_request().form({{"a", "1"}, {"b", "x y"}}).post(u).send(stub).body(),
            "form");
  EXPECT_EQ(*cr::basic_request()
                 .multipart({cr::multipart_part::field("f", "v")})
                 .post(u)
                 .send(stub)
                 .body(),
            "multipart");
  EXPECT_EQ(*cr::basic_request().body("hello").put(u).send(stub).body(), "text");
  EXPECT_EQ(*cr::basic_request().post(u).send(stub).body(), "empty post");
  EXPECT_EQ(*cr::basic_request().get(u).send(stub).body(), "defaults");
  EXPECT_EQ(form.hits(), 1u);
  EXPECT_EQ(multipart.hits(), 1u);
  EXPECT_EQ(text.hits(), 1u);
  EXPECT_EQ(empty_post.hits(), 1u);
  EXPECT_EQ(defaults.hits(), 1u);
  // The request's own raw headers are unchanged: only what the matchers see is widened.
  EXPECT_FALSE(stub.last_recorded().request.headers().contains("Host"));
}

#ifdef COURIER_HAVE_NLOHMANN_JSON
TEST(stub_http, a_json_body_matches_on_its_content_type) {
  ct::stub_backend stub;
  stub.when(ct::header_is("Content-Type", "application/json")).respond(201, "json");
  stub.when_any().respond(415, "not json");
  auto r = cr::basic_request().with_body(cr::json_body({{"a", 1}})).post(api).send(stub);
  EXPECT_EQ(r.status(), 201);
}
#endif

TEST(stub_http, a_content_type_the_request_sets_wins_over_the_bodys) {
  cr::request_data req = cr::basic_request()
                             .header("Content-Type", "text/csv")
                             .header("Content-Length", "999")  // replaced by the body's framing
                             .body("a,b")
                             .post(api)
                             .data();
  auto h = ct::effective_headers(req);
  EXPECT_EQ(h.get_all("Content-Type"), std::vector<std::string_view>{"text/csv"});
  EXPECT_EQ(h.get_all("Content-Length"), std::vector<std::string_view>{"3"});
}

TEST(stub_http, stream_and_file_bodies_have_their_framing) {
  cr::stream_body unsized;
  unsized.read = [](std::span<char>) -> std::size_t { return 0; };
  auto chunked = ct::effective_headers(cr::basic_request().body(unsized).post(api).data());
  EXPECT_EQ(chunked.get("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(chunked.contains("Content-Length"));
  EXPECT_EQ(chunked.get("Content-Type"), "application/octet-stream");

  auto path = std::filesystem::temp_directory_path() / "courier-stub-effective.bin";
  std::ofstream(path) << "12345";
  auto file = ct::effective_headers(cr::basic_request().body_file(path).post(api).data());
  EXPECT_EQ(file.get("Content-Length"), "5");
  std::filesystem::remove(path);
  // A file that cannot be read has no length (sending it fails with file_error).
  auto missing = ct::effective_headers(cr::basic_request().body_file(path).post(api).data());
  EXPECT_FALSE(missing.contains("Content-Length"));
}

using request_at = std::function<cr::request<cr::expected<std::string, std::string>>(cr::uri)>;

// The head a local server receives when the asio backend sends the request made by `at`.
std::string head_received_by_a_server(const request_at& at) {
  net::io_context ioc;
  net::ip::tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  std::string head;
  std::thread server([&] {
    net::ip::tcp::socket s(ioc);
    acceptor.async_accept(s, [](boost::system::error_code) {});
    ioc.run_for(5s);  // a client that never connects leaves `head` empty
    if (!s.is_open()) return;
    boost::system::error_code ec;
    std::string buf;
    net::read_until(s, net::dynamic_buffer(buf), "\r\n\r\n", ec);
    if (ec) return;  // the client's read timeout ends a stalled exchange
    head = buf.substr(0, buf.find("\r\n\r\n") + 2);
    // Read what body there is before answering, so the client never sees a reset.
    auto pos = head.find("Content-Length: ");
    if (pos != std::string::npos) {
      std::size_t want = std::stoul(head.substr(pos + 16));
      std::size_t have = buf.size() - head.size() - 2;
      if (want > have) {
        std::string rest(want - have, '\0');
        net::read(s, net::buffer(rest), ec);
      }
    }
    net::write(s, net::buffer(std::string("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")),
               ec);
  });
  cr::asio_backend backend;
  try {
    at(cr::uri("http://127.0.0.1:" + std::to_string(port) + "/x")).send(backend);
  } catch (const cr::error& e) {
    ADD_FAILURE() << e.what();
  }
  server.join();
  return head;
}

// "Name: value\r\n" lines of a head, without its request line.
std::vector<std::string> field_lines(const std::string& head) {
  std::vector<std::string> out;
  std::size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    out.push_back(head.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

std::vector<std::string> field_lines(const cr::headers& h) {
  std::vector<std::string> out;
  for (const auto& f : h)
    out.push_back(f.name + ": " + f.value);
  return out;
}

TEST(stub_http, effective_headers_are_what_the_asio_backend_sends) {
  const std::vector<request_at> requests = {
      [](cr::uri u) { return cr::basic_request().header("X-A", "1").get(u); },
      [](cr::uri u) {
        return cr::basic_request().form({{"k", "v w"}}).post(u);
      },
      [](cr::uri u) { return cr::basic_request().body("text").put(u); },
      [](cr::uri u) { return cr::empty_request().header("Accept", "text/html").post(u); },
      [](cr::uri u) {
        return cr::basic_request().header("Content-Type", "x/y").body("b").patch(u);
      },
  };
  for (std::size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(i);
    std::string head = head_received_by_a_server(requests[i]);
    ASSERT_FALSE(head.empty());
    // The uri (and so the Host) is the server's: rebuild the request for it.
    auto port = head.substr(head.find("Host: 127.0.0.1:") + 16);
    port = port.substr(0, port.find("\r\n"));
    auto req = requests[i](cr::uri("http://127.0.0.1:" + port + "/x"));
    EXPECT_EQ(field_lines(head), field_lines(ct::effective_headers(req.data())));
  }
}

}  // namespace
