// The HTTP/2 client core against nghttp2 acting as the server, in the same process: requests and
// responses round trip, flow control follows the application, resets and GOAWAY are reported.
#include "http2_test_peer.hpp"

#include <courier/error.hpp>
#include <courier/uri.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace courier::test::http2;
using test_response = test_server::response;

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

TEST(Http2ClientConnection, GetRoundTripWithPseudoHeadersAndLowercasedFields) {
  h2::client_connection client;
  test_server server;
  server.handler = [](std::int32_t, const test_server::request&) {
    return test_response{200, {{"content-type", "text/plain"}}, "hello over h2", {}};
  };
  auto head = get("/index.html?q=1");
  head.fields.add("X-Custom", "yes");
  head.fields.add("Connection", "keep-alive");  // HTTP/1.1 only: left out
  head.fields.add("TE", "gzip");                // only "trailers" may go
  const auto id = client.submit_request(head);
  EXPECT_EQ(id, 1);
  event_log log;
  pump(client, server, log);

  const auto& req = server.requests.at(id);
  EXPECT_EQ(req.field(":method"), "GET");
  EXPECT_EQ(req.field(":scheme"), "http");
  EXPECT_EQ(req.field(":authority"), "example.test");
  EXPECT_EQ(req.field(":path"), "/index.html?q=1");
  EXPECT_EQ(req.field("x-custom"), "yes");
  EXPECT_FALSE(req.has("connection"));
  EXPECT_FALSE(req.has("te"));
  EXPECT_TRUE(req.body.empty());

  const auto& r = log.streams.at(id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.get("content-type").value_or(""), "text/plain");
  EXPECT_EQ(r.body, "hello over h2");
  EXPECT_TRUE(r.ended);
  EXPECT_FALSE(r.reset);
  EXPECT_EQ(r.events_after_end, 0u);
  EXPECT_EQ(client.open_streams(), 0u);
}

TEST(Http2ClientConnection, HostFieldSuppliesTheAuthority) {
  h2::client_connection client;
  test_server server;
  auto head = get("/");
  head.authority.clear();
  head.fields.add("Host", "h.example:8443");
  const auto id = client.submit_request(head);
  event_log log;
  pump(client, server, log);
  EXPECT_EQ(server.requests.at(id).field(":authority"), "h.example:8443");
  EXPECT_FALSE(server.requests.at(id).has("host"));
}

TEST(Http2ClientConnection, RequestHeadFromCourierTypes) {
  courier::headers fields;
  fields.add("Accept", "*/*");
  const auto head = h2::make_request_head(
      courier::method::delete_, courier::uri("https://api.example:8443/items/7?force=1"), fields);
  EXPECT_EQ(head.method.name(), "DELETE");
  EXPECT_EQ(head.scheme, "https");
  EXPECT_EQ(head.authority, "api.example:8443");
  EXPECT_EQ(head.path, "/items/7?force=1");
  EXPECT_EQ(head.fields, fields);
  const auto plain =
      h2::make_request_head(courier::method::get, courier::uri("http://a.example"), {});
  EXPECT_EQ(plain.scheme, "http");
  EXPECT_EQ(plain.authority, "a.example");
  EXPECT_EQ(plain.path, "/");

  h2::client_connection client;
  test_server server;
  const auto id = client.submit_request(head);
  event_log log;
  pump(client, server, log);
  EXPECT_EQ(server.requests.at(id).field(":method"), "DELETE");
  EXPECT_EQ(server.requests.at(id).field(":path"), "/items/7?force=1");
  EXPECT_EQ(server.requests.at(id).field("accept"), "*/*");
}

TEST(Http2ClientConnection, BadFieldsAreRefusedBeforeAnythingIsSent) {
  h2::client_connection client;
  auto head = get("/");
  head.fields.add_unchecked("X-Bad", "a\r\nb");
  EXPECT_THROW(client.submit_request(head), courier::invalid_header);
  auto no_authority = get("/");
  no_authority.authority.clear();
  EXPECT_THROW(client.submit_request(no_authority), courier::invalid_request);
  EXPECT_EQ(client.open_streams(), 0u);
}

TEST(Http2ClientConnection, PostBodySuppliedInPiecesWaitsForTheNextPiece) {
  h2::client_connection client;
  test_server server;
  server.handler = [](std::int32_t, const test_server::request& r) {
    return test_response{201, {}, "got " + std::to_string(r.body.size()), {}};
  };
  auto head = get("/upload");
  head.method = courier::method::post;
  const auto id = client.submit_request(head, h2::request_body::supplied);
  event_log log;
  client.supply_body(id, "first,");
  pump(client, server, log);
  EXPECT_EQ(server.requests.at(id).body, "first,");
  EXPECT_FALSE(server.requests.at(id).ended);  // deferred, not ended
  EXPECT_FALSE(log.streams[id].ended);

  client.supply_body(id, "second,");
  client.supply_body(id, "third", true);
  EXPECT_EQ(client.body_buffered(id), 12u);
  EXPECT_THROW(client.supply_body(id, "more"), courier::invalid_request);
  pump(client, server, log);
  EXPECT_EQ(server.requests.at(id).field(":method"), "POST");
  EXPECT_EQ(server.requests.at(id).body, "first,second,third");
  EXPECT_TRUE(server.requests.at(id).ended);
  EXPECT_EQ(log.streams.at(id).status, 201);
  EXPECT_EQ(log.streams.at(id).body, "got 18");
}

TEST(Http2ClientConnection, WholeBodyOfSeveralFrames) {
  h2::client_connection client;
  test_server server;
  const std::string body = pattern(200'000);  // more than a DATA frame and the default window
  server.handler = [](std::int32_t, const test_server::request& r) {
    return test_response{200, {}, std::to_string(r.body.size()), {}};
  };
  auto head = get("/upload");
  head.method = courier::method::put;
  const auto id = client.submit_request(head, body);
  event_log log;
  pump(client, server, log);
  EXPECT_EQ(server.requests.at(id).body, body);
  EXPECT_EQ(log.streams.at(id).body, "200000");
}

TEST(Http2ClientConnection, ManyConcurrentStreamsEachGetTheirOwnResponse) {
  h2::client_connection client;
  test_server server;
  server.handler = [](std::int32_t id, const test_server::request& r) {
    return test_response{200, {}, r.field(":path") + "#" + std::to_string(id) + pattern(5000), {}};
  };
  std::vector<h2::stream_id> ids;
  for (int i = 0; i < 60; ++i)
    ids.push_back(client.submit_request(get("/item/" + std::to_string(i))));
  EXPECT_EQ(client.open_streams(), 60u);
  event_log log;
  pump(client, server, log);
  EXPECT_GT(server.max_open, 1u);  // they were in flight together
  for (int i = 0; i < 60; ++i) {
    const auto& r = log.streams.at(ids[i]);
    EXPECT_TRUE(r.ended);
    EXPECT_EQ(r.body, "/item/" + std::to_string(i) + "#" + std::to_string(ids[i]) + pattern(5000));
  }
  EXPECT_EQ(client.open_streams(), 0u);
}

TEST(Http2ClientConnection, ServerMaxConcurrentStreamsIsRespected) {
  h2::client_connection client;
  test_server server({{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 2}});
  event_log log;
  pump(client, server, log);  // SETTINGS exchanged first
  EXPECT_EQ(client.peer_max_concurrent_streams(), 2u);
  std::vector<h2::stream_id> ids;
  for (int i = 0; i < 7; ++i)
    ids.push_back(client.submit_request(get("/q/" + std::to_string(i))));
  pump(client, server, log);
  EXPECT_EQ(server.max_open, 2u);
  EXPECT_EQ(server.requests.size(), 7u);
  for (auto id : ids)
    EXPECT_TRUE(log.streams.at(id).ended) << id;
}

TEST(Http2ClientConnection, LargeDownloadIsNotWindowBound) {
  h2::client_connection client;
  test_server server;
  const std::string big = pattern(std::size_t{32} << 20);
  server.handler = [&](std::int32_t, const test_server::request&) {
    return test_response{200, {}, big, {}};
  };
  const auto id = client.submit_request(get("/big"));
  event_log log;
  const int rounds = pump(client, server, log);
  EXPECT_TRUE(log.streams.at(id).body == big);
  // Each round trip moves a window's worth: 32 MiB over a 16 MiB connection window takes a
  // handful, where the 64 KiB default would take hundreds.
  EXPECT_LT(rounds, 20);
}

TEST(Http2ClientConnection, SlowReaderHoldsAtMostItsWindowAndTheServerStalls) {
  h2::connection_options options;
  options.stream_window = 64 << 10;
  options.connection_window = 256 << 10;
  h2::client_connection client(options);
  test_server server;
  const std::string big = pattern(1 << 20);
  server.handler = [&](std::int32_t, const test_server::request&) {
    return test_response{200, {}, big, {}};
  };
  const auto slow = client.submit_request(get("/slow"));
  const auto other = client.submit_request(get("/other"));
  event_log log;
  log.auto_consume = false;
  pump(client, server, log);
  // Nothing consumed: each stream got exactly its window, and the server waits.
  EXPECT_EQ(log.streams.at(slow).body.size(), std::size_t{64} << 10);
  EXPECT_EQ(log.streams.at(other).body.size(), std::size_t{64} << 10);
  EXPECT_FALSE(log.streams.at(slow).ended);

  // The other stream is read at once: the slow one does not hold it back.
  client.consumed(other, log.streams.at(other).body.size());
  std::size_t consumed_slow = 0;
  for (int i = 0; i < 200 && !log.streams.at(other).ended; ++i) {
    pump(client, server, log);
    client.consumed(other, log.streams.at(other).body.size());  // clamps to what is owed
  }
  EXPECT_EQ(log.streams.at(other).body, big);
  EXPECT_EQ(log.streams.at(slow).body.size(), std::size_t{64} << 10);

  // Then the slow reader takes 16 KiB at a time: the window reopens only by that much.
  for (int i = 0; i < 1000 && !log.streams.at(slow).ended; ++i) {
    const std::size_t have = log.streams.at(slow).body.size();
    const std::size_t take = std::min<std::size_t>(16 << 10, have - consumed_slow);
    client.consumed(slow, take);
    consumed_slow += take;
    pump(client, server, log);
    EXPECT_LE(log.streams.at(slow).body.size() - consumed_slow, std::size_t{64} << 10);
  }
  EXPECT_TRUE(log.streams.at(slow).body == big);
}

TEST(Http2ClientConnection, TrailersAreReportedAfterTheBody) {
  h2::client_connection client;
  test_server server;
  server.handler = [](std::int32_t, const test_server::request&) {
    return test_response{200, {{"trailer", "x-checksum"}}, "body", {{"x-checksum", "abc123"}}};
  };
  auto head = get("/t");
  head.fields.add("TE", "trailers");
  const auto id = client.submit_request(head);
  event_log log;
  pump(client, server, log);
  EXPECT_EQ(server.requests.at(id).field("te"), "trailers");
  const auto& r = log.streams.at(id);
  EXPECT_EQ(r.body, "body");
  ASSERT_TRUE(r.trailers);
  EXPECT_EQ(r.trailers->get("x-checksum").value_or(""), "abc123");
  EXPECT_TRUE(r.ended);
}

TEST(Http2ClientConnection, InformationalResponsesComeBeforeTheHead) {
  h2::client_connection client;
  test_server server;
  server.handler = [&](std::int32_t id, const test_server::request&) {
    const std::string status = "103", link = "</s.css>; rel=preload";
    nghttp2_nv nva[] = {
        {(std::uint8_t*)":status", (std::uint8_t*)status.data(), 7, 3, NGHTTP2_NV_FLAG_NONE},
        {(std::uint8_t*)"link", (std::uint8_t*)link.data(), 4, link.size(), NGHTTP2_NV_FLAG_NONE}};
    nghttp2_submit_headers(server.session(), NGHTTP2_FLAG_NONE, id, nullptr, nva, 2, nullptr);
    return std::optional<test_response>(test_response{200, {}, "final", {}});
  };
  const auto id = client.submit_request(get("/early"));
  event_log log;
  pump(client, server, log);
  const auto& r = log.streams.at(id);
  EXPECT_EQ(r.informational, 1);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "final");
}

TEST(Http2ClientConnection, ServerResetNamesTheCodeAndRefusedIsSafeToRetry) {
  h2::client_connection client;
  test_server server;
  server.handler = [&](std::int32_t id,
                       const test_server::request& r) -> std::optional<test_response> {
    const bool refuse = r.field(":path") == "/refuse";
    nghttp2_submit_rst_stream(server.session(), NGHTTP2_FLAG_NONE, id,
                              refuse ? NGHTTP2_REFUSED_STREAM : NGHTTP2_INTERNAL_ERROR);
    return std::nullopt;
  };
  const auto refused = client.submit_request(get("/refuse"));
  const auto failed = client.submit_request(get("/fail"));
  event_log log;
  pump(client, server, log);
  ASSERT_TRUE(log.streams.at(refused).reset);
  const auto& a = *log.streams.at(refused).reset;
  EXPECT_TRUE(a.by_peer);
  EXPECT_EQ(a.code, 7u);
  EXPECT_EQ(a.code_name, "REFUSED_STREAM");
  EXPECT_TRUE(a.safe_to_retry);
  EXPECT_FALSE(a.protocol_violation);
  EXPECT_NE(a.message.find("REFUSED_STREAM"), std::string::npos) << a.message;
  ASSERT_TRUE(log.streams.at(failed).reset);
  const auto& b = *log.streams.at(failed).reset;
  EXPECT_EQ(b.code_name, "INTERNAL_ERROR");
  EXPECT_FALSE(b.safe_to_retry);
  EXPECT_NE(b.message.find("reset by the server: INTERNAL_ERROR (0x2)"), std::string::npos)
      << b.message;
  // The connection lives on.
  const auto next = client.submit_request(get("/after"));
  server.handler = [](std::int32_t, const test_server::request&) {
    return std::optional<test_response>(test_response{200, {}, "fine", {}});
  };
  pump(client, server, log);
  EXPECT_EQ(log.streams.at(next).body, "fine");
}

TEST(Http2ClientConnection, GoawayReportsUnprocessedStreamsAsSafeToRetry) {
  h2::client_connection client;
  test_server server;
  server.handler = [](std::int32_t, const test_server::request&) {
    return std::optional<test_response>();  // answered by hand below
  };
  const auto s1 = client.submit_request(get("/1"));
  const auto s3 = client.submit_request(get("/3"));
  auto post = get("/5");
  post.method = courier::method::post;
  const auto s5 = client.submit_request(post, std::string("payload"));
  event_log log;
  pump(client, server, log);
  ASSERT_EQ(server.requests.size(), 3u);
  server.respond(s1, {200, {}, "one", {}});
  nghttp2_submit_goaway(server.session(), NGHTTP2_FLAG_NONE, s1, NGHTTP2_NO_ERROR,
                        reinterpret_cast<const std::uint8_t*>("maintenance"), 11);
  pump(client, server, log);

  ASSERT_EQ(log.goaways.size(), 1u);
  EXPECT_EQ(log.goaways[0].last_stream_id, s1);
  EXPECT_EQ(log.goaways[0].code_name, "NO_ERROR");
  EXPECT_EQ(log.goaways[0].debug_data, "maintenance");
  EXPECT_EQ(log.goaways[0].unprocessed_streams, (std::vector<h2::stream_id>{s3, s5}));
  EXPECT_EQ(log.streams.at(s1).body, "one");
  EXPECT_TRUE(log.streams.at(s1).ended);
  for (auto id : {s3, s5}) {
    ASSERT_TRUE(log.streams.at(id).reset) << id;
    EXPECT_TRUE(log.streams.at(id).reset->safe_to_retry);
    EXPECT_NE(log.streams.at(id).reset->message.find("GOAWAY"), std::string::npos);
  }
  EXPECT_FALSE(client.can_submit());
  EXPECT_THROW(client.submit_request(get("/late")), courier::protocol_error);
  EXPECT_TRUE(client.done());
}

TEST(Http2ClientConnection, GoawayFailsQueuedRequestsThatWereNeverSentAsSafeToRetry) {
  h2::client_connection client;
  test_server server({{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1}});
  server.handler = [](std::int32_t, const test_server::request&) {
    return std::optional<test_response>();
  };
  event_log log;
  pump(client, server, log);
  const auto sent = client.submit_request(get("/sent"));
  const auto queued1 = client.submit_request(get("/queued1"));
  const auto queued2 = client.submit_request(get("/queued2"));
  pump(client, server, log);
  ASSERT_EQ(server.requests.size(), 1u);  // the other two wait in the client
  nghttp2_submit_goaway(server.session(), NGHTTP2_FLAG_NONE, sent, NGHTTP2_NO_ERROR, nullptr, 0);
  server.respond(sent, {200, {}, "done", {}});
  pump(client, server, log);
  EXPECT_EQ(log.streams.at(sent).body, "done");
  for (auto id : {queued1, queued2}) {
    ASSERT_TRUE(log.streams.at(id).reset) << id;
    EXPECT_TRUE(log.streams.at(id).reset->safe_to_retry);
    EXPECT_EQ(log.streams.at(id).events_after_end, 0u);
  }
  EXPECT_EQ(server.requests.size(), 1u);
  EXPECT_EQ(client.open_streams(), 0u);
  EXPECT_TRUE(client.done());
}

TEST(Http2ClientConnection, CancelSendsRstStreamCancelAndTheConnectionLivesOn) {
  h2::connection_options options;
  options.stream_window = 64 << 10;
  options.connection_window = 64 << 10;  // a leaked window would stall the next stream
  h2::client_connection client(options);
  test_server server;
  const std::string big = pattern(1 << 20);
  server.handler = [&](std::int32_t, const test_server::request&) {
    return std::optional<test_response>(test_response{200, {}, big, {}});
  };
  const auto id = client.submit_request(get("/big"));
  event_log log;
  log.auto_consume = false;
  pump(client, server, log);
  EXPECT_EQ(log.streams.at(id).body.size(), std::size_t{64} << 10);
  client.cancel(id);
  const auto events_before = log.streams.at(id).body.size();
  pump(client, server, log);
  ASSERT_TRUE(server.requests.at(id).closed_with);
  EXPECT_EQ(*server.requests.at(id).closed_with, static_cast<std::uint32_t>(NGHTTP2_CANCEL));
  EXPECT_EQ(log.streams.at(id).body.size(), events_before);  // no events after cancel
  EXPECT_FALSE(log.streams.at(id).reset);

  log.auto_consume = true;
  const auto next = client.submit_request(get("/next"));
  pump(client, server, log);
  EXPECT_TRUE(log.streams.at(next).body == big);
}

TEST(Http2ClientConnection, CancelOfAQueuedStreamSendsNothingForIt) {
  h2::client_connection client;
  test_server server({{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1}});
  event_log log;
  pump(client, server, log);
  const auto first = client.submit_request(get("/first"));
  const auto queued = client.submit_request(get("/queued"));
  client.cancel(queued);
  pump(client, server, log);
  EXPECT_TRUE(log.streams.at(first).ended);
  EXPECT_EQ(server.requests.count(queued), 0u);
  EXPECT_EQ(log.streams.count(queued), 0u);
  EXPECT_EQ(client.open_streams(), 0u);
}

TEST(Http2ClientConnection, GracefulShutdownLetsOpenStreamsFinish) {
  h2::client_connection client;
  test_server server;
  server.handler = [](std::int32_t, const test_server::request&) {
    return std::optional<test_response>();
  };
  const auto id = client.submit_request(get("/slow"));
  event_log log;
  pump(client, server, log);
  client.shutdown();
  EXPECT_FALSE(client.can_submit());
  EXPECT_FALSE(client.done());
  pump(client, server, log);
  EXPECT_TRUE(server.goaway_received);
  EXPECT_EQ(server.goaway_code, static_cast<std::uint32_t>(NGHTTP2_NO_ERROR));
  server.respond(id, {200, {}, "late but whole", {}});
  pump(client, server, log);
  EXPECT_EQ(log.streams.at(id).body, "late but whole");
  EXPECT_TRUE(client.done());
}

TEST(Http2ClientConnection, EofWithStreamsInFlightFailsEachOfThem) {
  h2::client_connection client;
  test_server server;
  server.handler = [](std::int32_t, const test_server::request&) {
    return std::optional<test_response>();
  };
  const auto a = client.submit_request(get("/a"));
  const auto b = client.submit_request(get("/b"));
  event_log log;
  pump(client, server, log);
  client.receive_eof();
  log.drain(client);
  ASSERT_EQ(log.connection_errors.size(), 1u);
  const auto& e = log.connection_errors[0];
  EXPECT_EQ(e.failed_streams, (std::vector<h2::stream_id>{a, b}));
  EXPECT_FALSE(e.protocol_violation);
  EXPECT_NE(e.message.find("2 stream(s) in flight"), std::string::npos) << e.message;
  EXPECT_TRUE(client.done());
  EXPECT_EQ(client.open_streams(), 0u);
}

}  // namespace
