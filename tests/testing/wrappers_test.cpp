// logging_backend and recording_backend around the stub (no servers) and around the asio
// backend against httpbin.
#include <courier/body_stream.hpp>
#include <courier/courier.hpp>
#include <courier/logging_backend.hpp>
#include <courier/recording_backend.hpp>
#include <courier/testing/stub_backend.hpp>

#include "support/test_env.hpp"

#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <mutex>

namespace cr = courier;
namespace ct = courier::testing;
namespace net = boost::asio;

namespace {

struct line_log {
  std::mutex mutex;
  std::vector<std::string> lines;
  auto sink() {
    return std::function<void(std::string_view)>([this](std::string_view l) {
      std::lock_guard lock(mutex);
      lines.emplace_back(l);
    });
  }
};

TEST(logging_backend, one_line_per_request_and_response) {
  ct::stub_backend stub;
  stub.when_any().respond(201, "made");
  line_log log;
  cr::logging_backend logged(stub, log.sink());
  auto r = cr::basic_request().post(cr::uri("https://a.example/items")).body("x").send(logged);
  EXPECT_EQ(*r.body(), "made");
  ASSERT_EQ(log.lines.size(), 2u);
  EXPECT_EQ(log.lines[0], "--> POST https://a.example/items");
  EXPECT_TRUE(log.lines[1].starts_with("<-- 201 Created POST https://a.example/items ("))
      << log.lines[1];
  EXPECT_TRUE(log.lines[1].ends_with(" ms)"));
}

TEST(logging_backend, headers_and_bodies_with_redaction) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "secret answer\nline2", {{"Set-Cookie", "sid=abc"}, {"X-Ok", "1"}});
  std::vector<cr::log_record> records;
  cr::logging_options o;
  o.headers = true;
  o.bodies = true;
  o.redact_headers = {"X-Api-Key"};
  cr::logging_backend logged(
      stub, [&](const cr::log_record& r) { records.push_back(r); }, o);
  cr::basic_request()
      .bearer_auth("tok")
      .header("Cookie", "c=1")
      .header("X-Api-Key", "k")
      .header("X-Visible", "v")
      .body("request body")
      .post(cr::uri("https://a.example/"))
      .send(logged);
  ASSERT_EQ(records.size(), 2u);
  const auto& req = records[0];
  EXPECT_EQ(req.what, cr::log_record::kind::request);
  EXPECT_EQ(req.headers.get("Authorization"), "[REDACTED]");
  EXPECT_EQ(req.headers.get("Cookie"), "[REDACTED]");
  EXPECT_EQ(req.headers.get("X-Api-Key"), "[REDACTED]");
  EXPECT_EQ(req.headers.get("X-Visible"), "v");
  EXPECT_EQ(req.body, "request body");
  EXPECT_EQ(req.line.find("tok"), std::string::npos) << req.line;
  const auto& res = records[1];
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.headers.get("Set-Cookie"), "[REDACTED]");
  EXPECT_EQ(res.body, "secret answer\\nline2");
  EXPECT_EQ(res.line.find("sid=abc"), std::string::npos) << res.line;
  EXPECT_NE(res.line.find("X-Ok: 1"), std::string::npos) << res.line;
}

TEST(logging_backend, failures_and_async_tokens) {
  ct::stub_backend stub;
  stub.when_any().fail_connect("no route");
  line_log log;
  cr::logging_backend logged(stub, log.sink());
  EXPECT_THROW(cr::basic_request().get(cr::uri("http://x.example/")).send(logged),
               cr::connect_error);
  auto f =
      cr::basic_request().get(cr::uri("http://x.example/")).async_send(logged, net::use_future);
  EXPECT_THROW(f.get(), cr::connect_error);
  ASSERT_EQ(log.lines.size(), 4u);
  EXPECT_TRUE(log.lines[1].starts_with("<-- FAILED GET http://x.example/ (")) << log.lines[1];
  EXPECT_NE(log.lines[1].find("no route"), std::string::npos);
}

TEST(logging_backend, logs_websocket_opens) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(ct::ws_script().echo());
  line_log log;
  cr::logging_backend logged(stub, log.sink());
  auto ws = cr::basic_request()
                .get(cr::uri("ws://w.example/chat"))
                .open_websocket(logged, cr::ws::high_level{})
                .result;
  ws.send_text("hi");
  EXPECT_EQ(ws.receive_text(), "hi");
  ASSERT_EQ(log.lines.size(), 2u);
  EXPECT_EQ(log.lines[0], "--> WebSocket GET ws://w.example/chat");
  EXPECT_TRUE(
      log.lines[1].starts_with("<-- 101 Switching Protocols WebSocket GET ws://w.example/chat"))
      << log.lines[1];
  auto f = cr::basic_request()
               .get(cr::uri("ws://w.example/chat"))
               .async_open_websocket(logged, cr::ws::high_level{}, net::use_future);
  EXPECT_EQ(f.get().status, 101);
  EXPECT_EQ(log.lines.size(), 4u);
}

TEST(recording_backend, wraps_the_stub_and_stacks_with_logging) {
  ct::stub_backend stub;
  stub.when_any().respond(200, "ok");
  cr::recording_backend recorded(stub);
  line_log log;
  cr::logging_backend logged(recorded, log.sink());
  cr::basic_request().get(cr::uri("http://s.example/1")).send(logged);
  cr::basic_request().get(cr::uri("http://s.example/2")).async_send(logged, net::use_future).get();
  auto all = recorded.recorded();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].request.uri()->str(), "http://s.example/2");
  EXPECT_EQ(all[1].body, "ok");
  EXPECT_EQ(log.lines.size(), 4u);
  EXPECT_EQ(stub.recorded_count(), 2u);
}

TEST(recording_backend, around_the_asio_backend_with_httpbin) {
  cr::asio_backend backend;
  cr::recording_backend recorded(backend);
  line_log log;
  cr::logging_options o;
  o.headers = true;
  cr::logging_backend logged(recorded, log.sink(), o);
  auto r = cr::basic_request()
               .basic_auth("user", "pass")
               .get(cr::uri(cr::test::httpbin_url("/basic-auth/user/pass")))
               .send(logged);
  EXPECT_EQ(r.status(), 200);
  auto missing = cr::basic_request()
                     .get(cr::uri(cr::test::httpbin_url("/status/404")))
                     .async_send(logged, net::use_future);
  EXPECT_EQ(missing.get().status(), 404);
  EXPECT_THROW(cr::basic_request()
                   .connect_timeout(std::chrono::milliseconds(500))
                   .get(cr::uri("http://127.0.0.1:1/"))
                   .send(logged),
               cr::connect_error);
  auto all = recorded.recorded();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].status(), 200);
  ASSERT_TRUE(all[0].body);
  EXPECT_NE(all[0].body->find("authenticated"), std::string::npos);
  EXPECT_EQ(all[1].status(), 404);
  EXPECT_TRUE(all[2].failed());
  EXPECT_EQ(all[2].error, cr::errc::connect_failed);
  ASSERT_EQ(log.lines.size(), 6u);
  EXPECT_NE(log.lines[0].find("Authorization: [REDACTED]"), std::string::npos) << log.lines[0];
  EXPECT_EQ(log.lines[0].find("dXNlcjpwYXNz"), std::string::npos);
  EXPECT_TRUE(log.lines[3].starts_with("<-- 404")) << log.lines[3];
  EXPECT_TRUE(log.lines[5].starts_with("<-- FAILED GET http://127.0.0.1:1/")) << log.lines[5];
}

// The wrappers stream when the backend they wrap does: the body is handed out unread.
TEST(recording_backend, streams_through_the_asio_backend) {
  static_assert(
      cr::streaming_capable<cr::logging_backend<cr::recording_backend<cr::asio_backend>>>);
  static_assert(!cr::streaming_capable<cr::logging_backend<ct::stub_backend>>);
  cr::asio_backend backend;
  cr::recording_backend recorded(backend);
  line_log log;
  cr::logging_backend logged(recorded, log.sink());
  auto r = cr::basic_request()
               .get(cr::uri(cr::test::httpbin_url("/bytes/5000")))
               .response_as(cr::as_stream())
               .send(logged);
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(r.body().read_all(1 << 20).size(), 5000u);
  auto all = recorded.recorded();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].status(), 200);
  EXPECT_FALSE(all[0].body);  // a stream is the caller's to read, not the recorder's
  ASSERT_EQ(log.lines.size(), 2u);
}

TEST(recording_backend, websocket_through_asio_backend) {
  cr::asio_backend backend;
  cr::recording_backend recorded(backend);
  auto ws = cr::basic_request()
                .get(cr::uri(cr::test::ws_url("/echo")))
                .open_websocket(recorded, cr::ws::high_level{})
                .result;
  ws.send_text("x");
  EXPECT_EQ(ws.receive_text(), "x");
  ws.close();
  ASSERT_EQ(recorded.recorded_count(), 1u);
  EXPECT_TRUE(recorded.last_recorded().websocket);
  EXPECT_EQ(recorded.last_recorded().status(), 101);
}

}  // namespace
