// The asio backend against nginx and httpbin: methods, bodies, headers, response-as, pooling.
#include <courier/body_source.hpp>
#include <courier/body_stream.hpp>
#include <courier/courier.hpp>
#ifdef COURIER_HAVE_NLOHMANN_JSON
#include <courier/json.hpp>
#endif

#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace cr = courier;
namespace ct = courier::test;
using namespace std::chrono_literals;

namespace {
cr::asio_backend& backend() {
  return ct::default_backend();
}
std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

TEST(HttpBasic, GetSmallFileFromNginx) {
  auto res = cr::basic_request().get(cr::uri(ct::http_url("/small.txt"))).send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.reason(), "OK");
  ASSERT_TRUE(res.body().has_value());
  EXPECT_EQ(res.body()->size(), 100u);
  EXPECT_EQ(*res.body(), read_file(ct::env("DOCROOT") + "/small.txt"));
  EXPECT_EQ(res.request().method(), cr::method::get);
  EXPECT_TRUE(res.history().empty());
  EXPECT_EQ(res.header("content-type"), "text/plain");
}

TEST(HttpBasic, NotFoundIsTheErrorSide) {
  auto res = cr::basic_request().get(cr::uri(ct::http_url("/nope"))).send(backend());
  EXPECT_EQ(res.status(), 404);
  ASSERT_FALSE(res.body().has_value());
  EXPECT_NE(res.body().error().find("404"), std::string::npos);
}

TEST(HttpBasic, LargeBinaryAsBytesAndAsFile) {
  auto expected = read_file(ct::env("DOCROOT") + "/large.bin");
  auto res = cr::basic_request()
                 .get(cr::uri(ct::http_url("/large.bin")))
                 .response_as(cr::as_bytes())
                 .send(backend());
  ASSERT_EQ(res.body().size(), expected.size());
  EXPECT_TRUE(std::equal(res.body().begin(), res.body().end(),
                         reinterpret_cast<const std::byte*>(expected.data())));

  auto dir =
      std::filesystem::temp_directory_path() / ("courier-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto target = dir / "large.bin";
  auto file_res = cr::basic_request()
                      .get(cr::uri(ct::http_url("/large.bin")))
                      .response_as(cr::as_file(target))
                      .send(backend());
  EXPECT_EQ(file_res.body(), target);
  EXPECT_EQ(read_file(target), expected);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1) << "no temp file left";
  std::filesystem::remove_all(dir);
}

TEST(HttpBasic, GzipIsDecodedTransparently) {
  auto expected = read_file(ct::env("DOCROOT") + "/text/lorem.txt");
  auto res = cr::basic_request().get(cr::uri(ct::http_url("/text/lorem.txt"))).send(backend());
  ASSERT_TRUE(res.body().has_value());
  EXPECT_EQ(*res.body(), expected);
  auto raw = cr::basic_request()
                 .get(cr::uri(ct::http_url("/text/lorem.txt")))
                 .decompress(false)
                 .send(backend());
  EXPECT_EQ(raw.header("Content-Encoding"), "gzip");
  EXPECT_LT(raw.body()->size(), expected.size());
}

TEST(HttpBasic, HttpbinEchoesHeadersQueryAndBody) {
  auto res = cr::basic_request()
                 .header("X-Courier-Test", "yes")
                 .query("q", "c++ websockets & more")
                 .body("hello body")
                 .post(cr::uri(ct::httpbin_url("/post")))
                 .send(backend());
  ASSERT_EQ(res.status(), 200) << res.body().error();
  const std::string& text = *res.body();
  EXPECT_NE(text.find("\"X-Courier-Test\":\"yes\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"q\":\"c++ websockets & more\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"data\":\"hello body\""), std::string::npos) << text;
}

TEST(HttpBasic, FormAndMultipart) {
  auto form = cr::basic_request()
                  .form({{"name", "Zoë & co"}, {"n", "1+1"}})
                  .post(cr::uri(ct::httpbin_url("/post")))
                  .send(backend());
  ASSERT_EQ(form.status(), 200);
  EXPECT_NE(form.body()->find("\"n\":\"1+1\""), std::string::npos) << *form.body();
  EXPECT_NE(form.body()->find("Zo\\u00eb & co"), std::string::npos) << *form.body();

  auto dir = std::filesystem::temp_directory_path();
  auto path = dir / ("courier-upload-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(path) << "file contents here";
  auto mp = cr::basic_request()
                .multipart({cr::multipart_part::field("title", "report"),
                            cr::multipart_part::from_file("doc", path, "text/plain")})
                .post(cr::uri(ct::httpbin_url("/post")))
                .send(backend());
  std::filesystem::remove(path);
  ASSERT_EQ(mp.status(), 200);
  EXPECT_NE(mp.body()->find("\"title\":\"report\""), std::string::npos) << *mp.body();
  EXPECT_NE(mp.body()->find("file contents here"), std::string::npos) << *mp.body();
}

TEST(HttpBasic, FileBodyIsStreamedWithLength) {
  auto path = ct::env("DOCROOT") + "/small.txt";
  auto res = cr::basic_request()
                 .body_file(path, "text/plain")
                 .put(cr::uri(ct::httpbin_url("/put")))
                 .send(backend());
  ASSERT_EQ(res.status(), 200);
  EXPECT_NE(res.body()->find("\"Content-Length\":\"100\""), std::string::npos) << *res.body();
}

TEST(HttpBasic, MissingFileBodyIsAFileError) {
  EXPECT_THROW(cr::basic_request()
                   .body_file("/nonexistent/courier/file")
                   .put(cr::uri(ct::httpbin_url("/put")))
                   .send(backend()),
               cr::file_error);
}

TEST(HttpBasic, MethodsAndStatusCodes) {
  for (int code : {200, 201, 204, 400, 418, 500, 503}) {
    auto res = cr::basic_request()
                   .get(cr::uri(ct::httpbin_url("/status/" + std::to_string(code))))
                   .send(backend());
    EXPECT_EQ(res.status(), code);
    EXPECT_EQ(res.body().has_value(), code < 300);
  }
  auto head = cr::basic_request().head(cr::uri(ct::http_url("/large.bin"))).send(backend());
  EXPECT_EQ(head.status(), 200);
  EXPECT_TRUE(head.body()->empty());
  auto del = cr::basic_request().delete_(cr::uri(ct::httpbin_url("/delete"))).send(backend());
  EXPECT_EQ(del.status(), 200);
  auto patch =
      cr::basic_request().body("x").patch(cr::uri(ct::httpbin_url("/patch"))).send(backend());
  EXPECT_EQ(patch.status(), 200);
}

TEST(HttpBasic, BasicAuth) {
  auto ok = cr::basic_request()
                .basic_auth("user", "pass")
                .get(cr::uri(ct::httpbin_url("/basic-auth/user/pass")))
                .send(backend());
  EXPECT_EQ(ok.status(), 200);
  auto bad = cr::basic_request()
                 .basic_auth("user", "wrong")
                 .get(cr::uri(ct::httpbin_url("/basic-auth/user/pass")))
                 .send(backend());
  EXPECT_EQ(bad.status(), 401);
}

TEST(HttpBasic, GzipAndDeflateFromHttpbin) {
  auto gz = cr::basic_request().get(cr::uri(ct::httpbin_url("/gzip"))).send(backend());
  ASSERT_EQ(gz.status(), 200);
  EXPECT_NE(gz.body()->find("\"gzipped\":true"), std::string::npos) << *gz.body();
  auto df = cr::basic_request().get(cr::uri(ct::httpbin_url("/deflate"))).send(backend());
  ASSERT_EQ(df.status(), 200);
  EXPECT_NE(df.body()->find("\"deflated\":true"), std::string::npos) << *df.body();
}

TEST(HttpBasic, StreamEndpointChunked) {
  auto res = cr::basic_request().get(cr::uri(ct::httpbin_url("/stream/20"))).send(backend());
  ASSERT_EQ(res.status(), 200);
  EXPECT_EQ(std::count(res.body()->begin(), res.body()->end(), '\n'), 20);
}

TEST(HttpBasic, ManyRequestsReuseConnectionsFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto res = cr::basic_request().get(cr::uri(ct::http_url("/small.txt"))).send(backend());
        if (res.status() == 200 && res.body()->size() == 100) ++ok;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST(HttpBasic, Ipv6) {
  auto port = ct::env_or("NGINX_HTTP6_PORT", ct::env("NGINX_HTTP_PORT"));
  auto res =
      cr::basic_request().get(cr::uri("http://[::1]:" + port + "/small.txt")).send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.body()->size(), 100u);
}

TEST(HttpAsync, FutureCallbackDeferred) {
  auto req = cr::basic_request().get(cr::uri(ct::http_url("/small.txt")));
  auto fut = req.async_send(backend(), boost::asio::use_future);
  auto res = fut.get();
  EXPECT_EQ(res.status(), 200);

  std::promise<int> got;
  req.async_send(backend(),
                 [&](std::exception_ptr e, cr::response<cr::expected<std::string, std::string>> r) {
                   got.set_value(e ? -1 : r.status());
                 });
  EXPECT_EQ(got.get_future().get(), 200);

  auto lazy = req.async_send(backend(), boost::asio::deferred);
  std::promise<std::size_t> size;
  std::move(lazy)([&](std::exception_ptr e, auto r) { size.set_value(e ? 0 : r.body()->size()); });
  EXPECT_EQ(size.get_future().get(), 100u);
}

TEST(HttpAsync, CoroutinesRunTheExchangeOnTheirOwnContext) {
  // A coroutine's requests run on its io_context, the plain connection lent to that context's
  // reactor, where it stays between requests: the same connection then serves a blocking
  // request, an async one with no executor of its own, and a timeout.
  std::atomic<int> requests{0};
  ct::fault_server server([&](ct::connection& c) {
    while (auto head = c.try_read_request_head()) {
      if (++requests == 6) {
        c.pause(5s);  // the sixth request gets no answer: the read timeout ends it
        return;
      }
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  cr::asio_backend local;
  const auto req = cr::basic_request().get(cr::uri(server.url("/")));
  boost::asio::io_context io;
  std::vector<std::string> bodies;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
          auto res = co_await req.async_send(local, boost::asio::use_awaitable);
          bodies.push_back(*res.body());
        }
      },
      boost::asio::detached);
  io.run();
  ASSERT_EQ(bodies, (std::vector<std::string>{"ok", "ok", "ok"}));
  EXPECT_EQ(*req.send(local).body(), "ok");
  EXPECT_EQ(*req.async_send(local, boost::asio::use_future).get().body(), "ok");
  EXPECT_EQ(server.connections_accepted(), 1);

  boost::system::error_code timed_out;
  io.restart();
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto [e, res] = co_await req.read_timeout(300ms).async_send(
            local, boost::asio::as_tuple(boost::asio::use_awaitable));
        timed_out = cr::error_code_of(e);
      },
      boost::asio::detached);
  const auto t0 = std::chrono::steady_clock::now();
  io.run();
  EXPECT_EQ(timed_out, cr::errc::timeout) << timed_out.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(HttpAsync, AConnectionIdleOnADestroyedContextServesTheNextRequest) {
  // Between requests a connection stays on the reactor of the io_context it was lent to. When
  // that context is destroyed, or another context or a blocking call takes the connection, or
  // the backend goes first, the connection leaves that reactor: one connection serves all.
  ct::fault_server server([&](ct::connection& c) {
    while (c.try_read_request_head())
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  const auto req = cr::basic_request().get(cr::uri(server.url("/")));
  auto run_on = [&](cr::asio_backend& b, boost::asio::io_context& io) {
    std::string body;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          body = *(co_await req.async_send(b, boost::asio::use_awaitable)).body();
        },
        boost::asio::detached);
    io.restart();
    io.run();
    return body;
  };
  {
    cr::asio_backend local;
    for (int i = 0; i < 4; ++i) {
      // Destroyed with the connection idle on its reactor; every other one made for one thread.
      boost::asio::io_context io(i % 2 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT);
      EXPECT_EQ(run_on(local, io), "ok");
    }
    EXPECT_EQ(*req.send(local).body(), "ok");
    {
      boost::asio::io_context a, b(1);  // b: made for one thread, requests need no strand
      EXPECT_EQ(run_on(local, a), "ok");
      EXPECT_EQ(run_on(local, b), "ok");         // taken from a's reactor to b's
      EXPECT_EQ(*req.send(local).body(), "ok");  // and from b's by a blocking call
      EXPECT_EQ(run_on(local, a), "ok");
    }  // b, then a, destroyed: the connection, idle on a's, leaves it
    EXPECT_EQ(*req.send(local).body(), "ok");
    EXPECT_EQ(server.connections_accepted(), 1);
  }
  // The backend destroyed first: its pool closes the connection on the context's reactor.
  boost::asio::io_context io;
  {
    cr::asio_backend local;
    EXPECT_EQ(run_on(local, io), "ok");
  }
  EXPECT_EQ(server.connections_accepted(), 2);
  EXPECT_EQ(io.poll(), 0u);  // nothing of the closed connection is left on the context
}

TEST(HttpAsync, ErrorsArriveAsTheSyncExceptions) {
  std::promise<std::exception_ptr> got;
  cr::basic_request()
      .get(cr::uri("http://127.0.0.1:1/"))
      .async_send(backend(), [&](std::exception_ptr e, auto) { got.set_value(e); });
  auto e = got.get_future().get();
  EXPECT_EQ(cr::error_code_of(e), cr::errc::connect_failed) << cr::message_of(e);
  auto fut = cr::basic_request()
                 .get(cr::uri("http://127.0.0.1:1/"))
                 .async_send(backend(), boost::asio::use_future);
  EXPECT_THROW(fut.get(), cr::connect_error);
}

#ifdef COURIER_HAVE_NLOHMANN_JSON
TEST(HttpJson, JsonBodyAndAsJson) {
  nlohmann::json payload = {{"name", "courier"}, {"stars", 5}};
  auto res = cr::basic_request()
                 .with_body(cr::json_body(payload))
                 .post(cr::uri(ct::httpbin_url("/post")))
                 .response_as(cr::as_json<nlohmann::json>())
                 .send(backend());
  EXPECT_EQ(res.body()["json"]["name"], "courier");
  EXPECT_EQ(res.body()["headers"]["Content-Type"], "application/json");
  auto fail = cr::basic_request()
                  .get(cr::uri(ct::http_url("/small.txt")))
                  .response_as(cr::as_json<nlohmann::json>());
  EXPECT_THROW(fail.send(backend()), cr::decode_error);
}

TEST(HttpJson, AsJsonOrErrorGivesA404AsAValue) {
  auto json_at = [](const std::string& path) {
    return cr::basic_request()
        .response_as(cr::as_json_or_error<nlohmann::json>())
        .get(cr::uri(ct::httpbin_url(path)))
        .send(backend());
  };
  auto ok = json_at("/get?x=1");
  ASSERT_EQ(ok.status(), 200);
  ASSERT_TRUE(ok.body().has_value()) << ok.body().error().message();
  EXPECT_EQ((*ok.body())["args"]["x"], "1");

  auto missing = json_at("/status/404");
  EXPECT_EQ(missing.status(), 404);
  ASSERT_FALSE(missing.body().has_value());
  ASSERT_NE(missing.body().error().as_http_error(), nullptr);
  EXPECT_EQ(missing.body().error().as_http_error()->status, 404);
  EXPECT_EQ(missing.body().error().message(), R"(the server answered 404, not 2xx; body: "")");

  // httpbin's /html answers 200 with an HTML page: the body is kept on the deserialization side.
  auto html = json_at("/html");
  EXPECT_EQ(html.status(), 200);
  ASSERT_FALSE(html.body().has_value());
  const auto* d = html.body().error().as_deserialization_error();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->body.rfind("<!DOCTYPE html>", 0), 0u) << d->body.substr(0, 100);
  EXPECT_NE(d->message.find("parse_error"), std::string::npos) << d->message;
}
#endif

TEST(HttpBasic, ChunkedResponseFromNginx) {
  auto expected = read_file(ct::env("DOCROOT") + "/large.bin");
  auto res = cr::basic_request()
                 .get(cr::uri(ct::http_url("/chunked/large.bin")))
                 .response_as(cr::as_bytes())
                 .send(backend());
  ASSERT_EQ(res.status(), 200);
  EXPECT_EQ(res.header("Transfer-Encoding"), "chunked");
  ASSERT_EQ(res.body().size(), expected.size());
  EXPECT_EQ(0, std::memcmp(res.body().data(), expected.data(), expected.size()));
}

TEST(HttpBasic, KeepAliveReusesOneConnection) {
  ct::fault_server server([](ct::connection& c) {
    while (c.try_read_request_head()) {
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  cr::asio_backend local;
  for (int i = 0; i < 5; ++i) {
    auto res = cr::basic_request().get(cr::uri(server.url("/"))).send(local);
    ASSERT_EQ(*res.body(), "ok");
  }
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(HttpBasic, BlockingAsyncAndStreamedRequestsShareOneConnection) {
  // A blocking send moves the bytes on the caller's thread, async ones on the I/O thread, and a
  // stream reads as asked: one pooled connection passes between the three, in every order.
  ct::fault_server server([](ct::connection& c) {
    while (c.try_read_request_head()) {
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  cr::asio_backend local;
  const auto req = cr::basic_request().get(cr::uri(server.url("/")));
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(*req.send(local).body(), "ok");
    EXPECT_EQ(*req.async_send(local, boost::asio::use_future).get().body(), "ok");
    auto streamed = req.response_as(cr::as_stream()).send(local);
    EXPECT_EQ(streamed.body().read_all(1024), "ok");
    EXPECT_EQ(*req.send(local).body(), "ok");
  }
  EXPECT_EQ(server.connections_accepted(), 1);
}

namespace {
// Three GETs `gap` apart to a server that ends each connection after one answer: each must
// succeed, on a connection of its own.
void three_gets_each_on_a_fresh_connection(ct::fault_server& server,
                                           std::chrono::milliseconds gap) {
  cr::asio_backend local;
  for (int i = 0; i < 3; ++i) {
    auto res = cr::basic_request().get(cr::uri(server.url("/"))).send(local);
    EXPECT_EQ(*res.body(), "ok");
    std::this_thread::sleep_for(gap);
  }
  EXPECT_EQ(server.connections_accepted(), 3);
}
}  // namespace

TEST(HttpBasic, StaleConnectionIsReplacedTransparently) {
  // The server answers one request per connection but claims keep-alive, then closes: the
  // next request finds a dead pooled connection and must succeed on a fresh one.
  ct::fault_server server([](ct::connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.close();
  });
  three_gets_each_on_a_fresh_connection(server, std::chrono::milliseconds(20));
}

namespace {
// A server that reads one request with its Content-Length body, answers "got:<body>" while
// claiming keep-alive, and then closes the connection.
ct::fault_server::script echo_body_then_close() {
  return [](ct::connection& c) {
    const std::string head = c.read_request_head();
    const auto at = head.find("Content-Length: ");
    const std::size_t n = at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
    const std::string body = c.read_exactly(n);
    c.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(4 + body.size()) +
            "\r\n\r\ngot:" + body);
    c.close();
  };
}
}  // namespace

TEST(HttpBasic, StaleConnectionResendsABodyThatCanBeSentAgain) {
  // A connection used a moment ago is reused without first checking it is still open; when it
  // is not, an idempotent request goes again, body included, on a fresh connection.
  ct::fault_server server(echo_body_then_close());
  cr::asio_backend local;
  for (int i = 0; i < 3; ++i) {
    const std::string text = "hello-" + std::to_string(i);
    auto res = cr::basic_request().body(text).put(cr::uri(server.url("/"))).send(local);
    EXPECT_EQ(*res.body(), "got:" + text);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server.connections_accepted(), 3);
}

TEST(HttpBasic, ResetPooledConnectionIsReplacedWhenTheWriteFails) {
  // The server resets the connection after its answer: writing the next request on it fails
  // (EPIPE or ECONNRESET), and the request goes on a fresh connection instead.
  ct::fault_server server([](ct::connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.pause(std::chrono::milliseconds(50));  // the answer is read before the reset
    c.reset();
  });
  three_gets_each_on_a_fresh_connection(server, std::chrono::milliseconds(100));
}

TEST(HttpBasic, StaleConnectionIsCheckedBeforeABodyThatCannotBeSentAgain) {
  // A streamed body without rewind can be sent once only: the pooled connection is checked
  // before it is used, so a closed one is never picked and the request does not fail.
  ct::fault_server server(echo_body_then_close());
  cr::asio_backend local;
  for (int i = 0; i < 3; ++i) {
    const std::string text = "stream-" + std::to_string(i);
    std::size_t given = 0;
    auto source = cr::body_from_reader(
        [&](std::span<char> out) {
          const std::size_t n = std::min(out.size(), text.size() - given);
          std::copy_n(text.data() + given, n, out.data());
          given += n;
          return n;
        },
        text.size());
    auto res =
        cr::basic_request().body(std::move(source)).post(cr::uri(server.url("/"))).send(local);
    ASSERT_TRUE(res.body()) << res.body().error();
    EXPECT_EQ(*res.body(), "got:" + text);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server.connections_accepted(), 3);
}

TEST(HttpBasic, TrailersOfAChunkedBodyReachTheResponseAndTheStreamReader) {
  const std::string answer =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nChecksum: abc123\r\nServer-Timing: db;dur=53\r\n\r\n";
  ct::fault_server server([&](ct::connection& c) {
    for (int i = 0; i < 2; ++i) {
      c.read_request_head();
      c.write(answer);
    }
  });
  cr::asio_backend local;
  const auto req = cr::basic_request().get(cr::uri(server.url("/")));
  auto whole = req.send(local);
  EXPECT_EQ(*whole.body(), "hello");
  EXPECT_EQ(whole.trailers().get("Checksum"), "abc123");
  EXPECT_EQ(whole.trailers().get("Server-Timing"), "db;dur=53");

  auto streamed = req.response_as(cr::as_stream()).send(local);
  EXPECT_TRUE(streamed.body().trailers().empty());  // not before the body is read
  EXPECT_EQ(streamed.body().read_all(1024), "hello");
  EXPECT_EQ(streamed.body().trailers().get("Checksum"), "abc123");
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(HttpBasic, ClientCertificate) {
  cr::asio_backend_options o;
  o.tls.ca_file = ct::env("CA_FILE");
  o.tls.client_cert_file = ct::env("CLIENT_CERT_FILE");
  o.tls.client_key_file = ct::env("CLIENT_KEY_FILE");
  cr::asio_backend with_cert(o);
  auto res = cr::basic_request()
                 .get(cr::uri(ct::https_url("/client-cert", "NGINX_HTTPS_CLIENTCERT_PORT")))
                 .send(with_cert);
  ASSERT_EQ(res.status(), 200) << res.body().error();
  EXPECT_NE(res.body()->find("SUCCESS"), std::string::npos) << *res.body();
}

TEST(HttpAsync, ABackendDestroyedWhileACoroutineRequestWaitsLeavesNothingDangling) {
  // The request runs on the coroutine's own io_context; the backend goes while it waits for
  // the answer. The exchange keeps what it uses of the backend alive, and ends normally.
  ct::fault_server server([&](ct::connection& c) {
    if (!c.try_read_request_head()) return;
    std::this_thread::sleep_for(300ms);
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  boost::asio::io_context io;
  std::optional<cr::asio_backend> local(std::in_place);
  std::string body;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto [e, res] = co_await cr::basic_request()
                            .get(cr::uri(server.url("/")))
                            .async_send(*local, boost::asio::as_tuple(boost::asio::use_awaitable));
        failure = e;
        if (!e) body = *res.body();
      },
      boost::asio::detached);
  boost::asio::steady_timer later(io, 100ms);
  later.async_wait([&](boost::system::error_code) { local.reset(); });
  const auto t0 = std::chrono::steady_clock::now();
  io.run_for(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_FALSE(local.has_value());
  if (failure) {
    EXPECT_EQ(cr::error_code_of(failure), cr::errc::operation_aborted) << cr::message_of(failure);
  } else {
    EXPECT_EQ(body, "ok");
  }
}
