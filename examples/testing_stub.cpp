// The snippets of docs/testing.md, compiled and run in CI: a stub backend for HTTP and
// WebSocket, recording, to_curl and the logging wrapper. Needs no network.
// Usage: testing_stub
#include <courier/courier.hpp>
#include <courier/logging_backend.hpp>
#include <courier/testing/stub_backend.hpp>
#include <courier/to_curl.hpp>

#include <boost/asio/use_future.hpp>

#include <chrono>
#include <iostream>

namespace cr = courier;
namespace ct = courier::testing;
using namespace std::chrono_literals;

#define EXPECT(cond)                                                \
  do {                                                              \
    if (!(cond)) {                                                  \
      std::cerr << "FAILED: " #cond " (line " << __LINE__ << ")\n"; \
      return 1;                                                     \
    }                                                               \
  } while (0)

int http_rules() {
  // [http-rules]
  ct::stub_backend stub;
  stub.when(cr::method::get, "https://api.example/users/1")
      .respond(200, R"({"name":"Ada"})", {{"Content-Type", "application/json"}});
  stub.when(ct::method_is(cr::method::post) && ct::path_starts_with("/users"))
      .respond(201, "created");
  stub.when(ct::uri_matches(R"(https://api\.example/users/\d+)")).respond(404, "no such user");
  stub.when(ct::header_is("X-Debug", "1")).respond_with([](const cr::request_data& req) {
    return ct::answer{200, "you sent " + ct::describe(req)};
  });

  auto ada = cr::basic_request().get(cr::uri("https://api.example/users/1")).send(stub);
  // ada.status() == 200, *ada.body() == R"({"name":"Ada"})"
  auto nobody = cr::basic_request().get(cr::uri("https://api.example/users/2")).send(stub);
  // nobody.status() == 404, nobody.body().error() == "no such user"
  // [http-rules]
  EXPECT(ada.status() == 200 && *ada.body() == R"({"name":"Ada"})");
  EXPECT(nobody.status() == 404 && nobody.body().error() == "no such user");
  return 0;
}

int sequences_delays_errors() {
  // [sequences]
  ct::stub_backend stub;
  // A flaky service: 503 first, then 200 for every later call.
  stub.when(ct::path_is("/flaky")).respond_sequence({{503, "try later"}, {200, "ok"}});
  // A slow one: answered after 200 ms, without holding up other requests.
  stub.when(ct::path_is("/slow")).respond(200, "finally").delay(200ms);
  // Failures with the types the asio backend throws.
  stub.when(ct::host_is("down.example")).fail_connect();
  stub.when(ct::host_is("stuck.example")).fail_timeout();

  auto first = cr::basic_request().get(cr::uri("https://svc.example/flaky")).send(stub);
  auto second = cr::basic_request().get(cr::uri("https://svc.example/flaky")).send(stub);
  // first.status() == 503, second.status() == 200
  try {
    cr::basic_request().get(cr::uri("https://down.example/")).send(stub);
  } catch (const cr::connect_error& e) {
    std::cout << "as expected: " << e.what() << "\n";
  }
  // A delay longer than the request's read timeout is a timeout, as it would be live.
  try {
    cr::basic_request().read_timeout(50ms).get(cr::uri("https://svc.example/slow")).send(stub);
  } catch (const cr::timeout_error& e) {
    std::cout << "as expected: " << e.what() << "\n";
  }
  // [sequences]
  EXPECT(first.status() == 503 && second.status() == 200);
  return 0;
}

int async_tokens() {
  ct::stub_backend stub;
  stub.when_any().respond(200, "async");
  // [async]
  auto future = cr::basic_request()
                    .get(cr::uri("https://svc.example/"))
                    .async_send(stub, boost::asio::use_future);
  auto r = future.get();  // the same completion tokens as asio_backend
  // [async]
  EXPECT(*r.body() == "async");
  return 0;
}

int unmatched_and_recording() {
  // [recording]
  ct::stub_backend stub;
  stub.when(ct::path_is("/known")).respond(200, "yes");
  cr::basic_request().header("X-Trace", "42").get(cr::uri("https://svc.example/known")).send(stub);
  try {
    cr::basic_request().delete_(cr::uri("https://svc.example/other")).send(stub);
  } catch (const ct::unmatched_request& e) {
    // "stub_backend: no rule matches DELETE https://svc.example/other (rules: 1. path "/known")"
    std::cout << e.what() << "\n";
  }
  auto seen = stub.recorded();  // every request, with its response or error
  // seen[0].request.headers().get("X-Trace") == "42", seen[0].status() == 200,
  // seen[0].body == "yes"; seen[1].failed(), seen[1].error == courier::errc::invalid_request
  // [recording]
  EXPECT(seen.size() == 2);
  EXPECT(seen[0].request.headers().get("X-Trace") == "42" && seen[0].status() == 200);
  EXPECT(seen[0].body == "yes");
  EXPECT(seen[1].failed() && seen[1].error == cr::errc::invalid_request);
  return 0;
}

int websockets() {
  // [websocket]
  ct::stub_backend stub;
  ct::ws_script script;
  script
      .send_text("welcome")  // sent as soon as the connection is open
      .reply([](const cr::ws::message& m) {
        if (m.data == "bye") return ct::ws_replies{cr::ws::frame::close(1000, "see you")};
        return ct::ws_replies{cr::ws::frame::text("you said " + m.data)};
      });
  stub.when(ct::uri_is("wss://chat.example/room")).respond_websocket(script);
  stub.when(ct::uri_is("wss://chat.example/private")).respond(403, "members only");

  auto ws = cr::basic_request()
                .get(cr::uri("wss://chat.example/room"))
                .open_websocket(stub, cr::ws::high_level{})
                .result;
  std::string greeting = ws.receive_text();  // "welcome"
  ws.send_text("hi");
  std::string reply = ws.receive_text();  // "you said hi"
  ws.send_text("bye");
  try {
    ws.receive_text();
  } catch (const cr::websocket_closed& e) {
    // e.close().code == 1000, e.close().reason == "see you"
  }
  // script.received(): the messages the client sent, "hi" then "bye"

  try {
    cr::basic_request()
        .get(cr::uri("wss://chat.example/private"))
        .open_websocket(stub, cr::ws::high_level{});
  } catch (const cr::websocket_upgrade_failed& e) {
    // e.status() == 403, e.body() == "members only"
  }
  // [websocket]
  EXPECT(greeting == "welcome" && reply == "you said hi");
  EXPECT(script.received().size() == 2 && script.received()[1].data == "bye");
  return 0;
}

int curl_and_logging() {
  // [to-curl]
  auto req = cr::basic_request()
                 .bearer_auth("s3cret")
                 .form({{"q", "it's"}})
                 .post(cr::uri("https://api.example/search"));
  cr::curl_options redacted;
  redacted.redact = true;
  std::cout << cr::to_curl(req, redacted) << "\n";
  // curl https://api.example/search -L --max-redirs 20 --compressed
  //   -H 'Accept-Encoding: gzip, deflate, br, zstd' -H 'Authorization: [REDACTED]'
  //   -H 'Content-Type: application/x-www-form-urlencoded' --data-raw q=it%27s
  // [to-curl]
  EXPECT(cr::to_curl(req, redacted).find("s3cret") == std::string::npos);

  ct::stub_backend stub;
  stub.when_any().respond(200, "logged");
  // [logging]
  cr::logging_options options;
  options.headers = true;  // Authorization, Cookie, Set-Cookie... are redacted
  cr::logging_backend logged(
      stub, [](std::string_view line) { std::cout << line << "\n"; }, options);
  cr::basic_request().get(cr::uri("https://api.example/")).send(logged);
  // --> GET https://api.example/
  //     Accept-Encoding: gzip, deflate, br, zstd
  // <-- 200 OK GET https://api.example/ (0 ms)
  // [logging]
  return 0;
}

int main() {
  int failed = http_rules() + sequences_delays_errors() + async_tokens() +
               unmatched_and_recording() + websockets() + curl_and_logging();
  std::cout << (failed ? "SOME SNIPPETS FAILED" : "ALL SNIPPETS OK") << "\n";
  return failed ? 1 : 0;
}
