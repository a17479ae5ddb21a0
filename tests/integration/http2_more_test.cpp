// HTTP/2 on the asio backend, beyond the basics: through an HTTP proxy's CONNECT tunnel and
// through SOCKS5, under the logging and recording wrappers, many threads and a slow stream
// reader on one connection, GOAWAY in the middle of a burst, a decompression bomb, and the
// backend destroyed while streams wait.
#include <courier/courier.hpp>
#include <courier/logging_backend.hpp>
#include <courier/proxy.hpp>
#include <courier/recording_backend.hpp>

#include "support/expect_error.hpp"
#include "support/fault_server.hpp"
#include "support/http2_frames.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace cr = courier;
namespace ct = courier::test;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

using ct::docroot_file;
using ct::h2_url;

// How many lines of a proxy's log (under STATE_DIR/logs) contain `needle`, waiting a little
// (bounded) for at least `at_least`: a proxy may write its line as it connects on.
int log_lines(const std::string& file, const std::string& needle, int at_least = 0) {
  int n = 0;
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::ifstream in(ct::env("STATE_DIR") + "/logs/" + file);
    std::string line;
    n = 0;
    for (int i = 0; i < 1'000'000 && std::getline(in, line); ++i) {
      if (line.find(needle) != std::string::npos) ++n;
    }
    if (n >= at_least) break;
    std::this_thread::sleep_for(20ms);
  }
  return n;
}

// --- a scripted HTTP/2 server, frame by frame (RFC 9113 4.1) ---

using ct::http2_frame;
using ct::http2_u32;
using ct::read_http2_preface;
constexpr std::uint8_t data_type = ct::http2_data, headers_type = ct::http2_headers,
                       goaway_type = ct::http2_goaway;
constexpr std::uint8_t end_stream = ct::http2_end_stream, end_headers = ct::http2_end_headers;

std::uint32_t read_next_request(ct::connection& c) {
  return ct::read_http2_request(c);
}

void read_preface(ct::connection& c) {
  read_http2_preface(c);
}

std::string ok_response(std::uint32_t stream) {
  return ct::http2_ok_response(stream);
}

// HEADERS with ":status: 302" (name of static index 8) and "location: /next" (name of static
// index 46); `flags` say whether the stream ends with them.
std::string redirect_to_next(std::uint32_t stream, std::uint8_t flags) {
  return http2_frame(headers_type, flags, stream,
                     std::string("\x08\x03"
                                 "302"
                                 "\x0f\x1f\x05"
                                 "/next",
                                 13));
}

// A fault-server script that takes the preface and `n` requests over h2c, counting them in
// `requests`, and answers none.
auto counts_and_never_answers(std::atomic<int>& requests, int n) {
  return [&requests, n](ct::connection& c) {
    read_preface(c);
    for (int i = 0; i < n; ++i) {
      read_next_request(c);
      ++requests;
    }
    c.pause(10s);  // never answers
  };
}

// A GET of `server`'s root over h2c (prior knowledge).
auto h2c_get(const ct::fault_server& server) {
  return cr::basic_request()
      .get(cr::uri(server.url("/")))
      .version(cr::http_version::http2_prior_knowledge);
}

std::string gzip(const std::string& plain) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(plain.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

// --- proxies: ALPN inside the tunnel ---

TEST(Http2More, ThroughAnHttpProxysConnectTunnel) {
  cr::asio_backend backend(ct::test_ca_options(cr::http_version::http2));
  const auto proxy = cr::proxy("http://127.0.0.1:" + ct::env("TINYPROXY_PORT"));
  const std::string connect_line = "CONNECT localhost:" + ct::env("NGINX_HTTP2_PORT") + " ";
  const int before = log_lines("tinyproxy.log", connect_line);
  auto res = cr::basic_request().get(cr::uri(h2_url("/small.txt"))).proxy(proxy).send(backend);
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.version(), cr::http_version::http2);
  ASSERT_TRUE(res.body().has_value());
  EXPECT_EQ(*res.body(), docroot_file("small.txt"));
  // A second request shares the tunnelled connection.
  auto again = cr::basic_request().get(cr::uri(h2_url("/hello.json"))).proxy(proxy).send(backend);
  EXPECT_EQ(again.version(), cr::http_version::http2);
  EXPECT_EQ(*again.body(), docroot_file("hello.json"));
  EXPECT_EQ(again.header("x-connection"), res.header("x-connection"));
  EXPECT_EQ(log_lines("tinyproxy.log", connect_line, before + 1), before + 1)
      << "one tunnel, through the proxy";
}

TEST(Http2More, ThroughSocks5) {
  cr::asio_backend backend(ct::test_ca_options(cr::http_version::http2));
  for (const char* scheme : {"socks5", "socks5h"}) {
    SCOPED_TRACE(scheme);
    // microsocks logs each connection it opens for a client: "connected to HOST:PORT".
    const std::string connected = ":" + ct::env("NGINX_HTTP2_PORT");
    const int before = log_lines("microsocks.out", connected);
    const auto proxy =
        cr::proxy(std::string(scheme) + "://127.0.0.1:" + ct::env("MICROSOCKS_PORT"));
    auto res = cr::basic_request().get(cr::uri(h2_url("/large.bin"))).proxy(proxy).send(backend);
    EXPECT_EQ(res.status(), 200);
    EXPECT_EQ(res.version(), cr::http_version::http2);
    ASSERT_TRUE(res.body().has_value());
    EXPECT_TRUE(*res.body() == docroot_file("large.bin")) << res.body()->size();
    EXPECT_GE(log_lines("microsocks.out", connected, before + 1), before + 1);
  }
}

// --- the logging and recording wrappers ---

TEST(Http2More, LoggingAndRecordingWrappersSeeHttp2Exchanges) {
  cr::asio_backend inner(ct::test_ca_options(cr::http_version::http2));
  cr::recording_backend recorder(inner);
  std::mutex m;
  std::vector<std::string> lines;
  cr::logging_backend logger(recorder, [&](std::string_view line) {
    std::lock_guard lock(m);
    lines.emplace_back(line);
  });
  const auto url = h2_url("/small.txt");
  auto res = cr::basic_request().get(cr::uri(url)).send(logger);
  EXPECT_EQ(res.version(), cr::http_version::http2);

  ASSERT_EQ(recorder.recorded_count(), 1u);
  const auto e = recorder.recorded().back();
  EXPECT_EQ(e.request.method(), cr::method::get);
  ASSERT_TRUE(e.request.uri().has_value());
  EXPECT_EQ(e.request.uri()->str(), url);
  ASSERT_TRUE(e.response.has_value());
  EXPECT_EQ(e.response->status, 200);
  EXPECT_EQ(e.response->version, cr::http_version::http2);
  EXPECT_TRUE(e.response->headers.get("x-connection").has_value());
  ASSERT_TRUE(e.body.has_value());
  EXPECT_EQ(*e.body, docroot_file("small.txt"));

  std::lock_guard lock(m);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "--> GET " + url);
  EXPECT_EQ(lines[1].rfind("<-- 200", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find("GET " + url), std::string::npos) << lines[1];
}

// --- many threads, mixed sizes, a slow stream reader ---

TEST(Http2More, ManyThreadsOfMixedSizesShareOneConnectionByteExact) {
  cr::asio_backend backend(ct::test_ca_options(cr::http_version::http2));
  const std::string small = docroot_file("small.txt"), large = docroot_file("large.bin");
  std::mutex m;
  std::set<std::string> connections;
  std::atomic<int> exact{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        const bool big = (t + i) % 3 == 0;
        try {
          auto res = cr::basic_request()
                         .get(cr::uri(h2_url(big ? "/large.bin" : "/small.txt")))
                         .send(backend);
          if (res.version() == cr::http_version::http2 && res.body() &&
              *res.body() == (big ? large : small)) {
            ++exact;
          }
          std::lock_guard lock(m);
          connections.insert(std::string(res.header("x-connection").value_or("none")));
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(exact.load(), 24);
  EXPECT_EQ(connections.size(), 1u);
}

TEST(Http2More, ASlowStreamReaderDoesNotHoldUpTheOthers) {
  cr::asio_backend backend(ct::test_ca_options(cr::http_version::http2));
  const std::string small = docroot_file("small.txt"), large = docroot_file("large.bin");
  auto slow = cr::basic_request()
                  .get(cr::uri(h2_url("/sparse-512m.bin")))
                  .response_as(cr::as_stream())
                  .send(backend);
  ASSERT_EQ(slow.status(), 200);
  const auto conn = std::string(slow.header("x-connection").value_or("?"));

  // The slow reader: 4 KiB, then a pause, until the others are done (bounded).
  std::atomic<bool> others_done{false}, slow_ended{false};
  std::atomic<std::size_t> slow_bytes{0};
  std::thread reader([&] {
    std::vector<char> buf(4096);
    for (int i = 0; i < 3000 && !others_done; ++i) {
      const std::size_t n = slow.body().read_some(std::span<char>(buf));
      if (n == 0) {
        slow_ended = true;
        return;
      }
      slow_bytes += n;
      std::this_thread::sleep_for(10ms);
    }
  });

  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<int> exact{0};
  std::mutex m;
  std::set<std::string> connections;
  std::vector<std::thread> fast;
  for (int t = 0; t < 4; ++t) {
    fast.emplace_back([&, t] {
      for (const bool big : {t % 2 == 0, t % 2 != 0}) {
        try {
          auto res = cr::basic_request()
                         .get(cr::uri(h2_url(big ? "/large.bin" : "/small.txt")))
                         .send(backend);
          if (res.body() && *res.body() == (big ? large : small)) ++exact;
          std::lock_guard lock(m);
          connections.insert(std::string(res.header("x-connection").value_or("none")));
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& t : fast)
    t.join();
  const auto took = std::chrono::steady_clock::now() - t0;
  const bool slow_still_open = !slow_ended;
  others_done = true;
  reader.join();

  EXPECT_EQ(exact.load(), 8);
  EXPECT_LT(took, 15s);
  EXPECT_TRUE(slow_still_open);
  EXPECT_GT(slow_bytes.load(), 0u);
  EXPECT_LT(slow_bytes.load(), 64u << 20) << "the slow reader was not slow";
  EXPECT_EQ(connections, std::set<std::string>{conn}) << "the requests did not share";

  // Dropping the half-read stream resets it; the connection serves the next request.
  slow = cr::response<cr::body_stream>{};
  auto after = cr::basic_request().get(cr::uri(h2_url("/small.txt"))).send(backend);
  EXPECT_EQ(after.status(), 200);
  EXPECT_EQ(after.header("x-connection"), conn);
}

// --- GOAWAY in the middle of a burst ---

TEST(Http2More, GoawayInTheMiddleOfABurst) {
  // Connection 0 takes six streams (1..11), answers 1 and 3, says GOAWAY with last-stream-id 7,
  // answers 5, and closes: 7 was processed but never answered, 9 and 11 were not processed.
  // Later connections answer whatever comes.
  constexpr int burst = 6;
  std::atomic<int> answered_later{0};
  ct::fault_server server([&](ct::connection& c) {
    c.set_timeout(5s);
    read_preface(c);
    if (c.index() == 0) {
      std::vector<std::uint32_t> ids;
      for (int i = 0; i < burst; ++i)
        ids.push_back(read_next_request(c));
      c.write(ok_response(ids[0]) + ok_response(ids[1]));
      c.write(http2_frame(goaway_type, 0, 0, http2_u32(ids[3]) + http2_u32(0)));
      c.write(ok_response(ids[2]));
      c.pause(200ms);
      return;  // closed
    }
    for (int i = 0; i < burst; ++i) {
      const auto id = read_next_request(c);
      ++answered_later;
      c.write(ok_response(id));
    }
  });
  cr::asio_backend backend;
  const auto req = cr::basic_request()
                       .get(cr::uri(server.url("/")))
                       .version(cr::http_version::http2_prior_knowledge);
  std::vector<std::future<cr::response<cr::expected<std::string, std::string>>>> pending;
  for (int i = 0; i < burst; ++i)
    pending.push_back(req.async_send(backend, net::use_future));
  int ok = 0, failed = 0;
  for (auto& f : pending) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "a stream hangs";
    try {
      EXPECT_EQ(f.get().status(), 200);
      ++ok;
    } catch (const cr::read_error& e) {
      ++failed;
      EXPECT_NE(std::string(e.what()).find(std::to_string(server.port())), std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(failed, 1) << "the processed, unanswered stream";
  EXPECT_EQ(answered_later.load(), 2);
  EXPECT_EQ(server.connections_accepted(), 2);
}

// --- async requests on an open connection ---

// An async request that finds its origin's connection open runs without a coroutine of
// courier's (h2_callback_hop). Each way such a hop can end, on one connection: answered, a
// stream the server refused (sent again), a redirect followed, a read timeout (the stream is
// reset), a cancellation (likewise), a body read as_stream().
TEST(Http2More, AsyncRequestsOnAnOpenConnectionEndEveryWayAndKeepIt) {
  std::atomic<int> requests{0};
  ct::fault_server server([&](ct::connection& c) {
    c.set_timeout(10s);
    read_preface(c);
    const auto answer = [&](const std::string& frames) {
      ++requests;
      c.write(frames);
    };
    auto id = read_next_request(c);  // the blocking request that opens the connection
    answer(ok_response(id));
    id = read_next_request(c);  // refused, then sent again
    answer(http2_frame(ct::http2_rst_stream, 0, id, http2_u32(0x7)));
    id = read_next_request(c);
    answer(ok_response(id));
    id = read_next_request(c);
    answer(redirect_to_next(id, end_headers | end_stream));
    id = read_next_request(c);  // the redirect's target
    answer(ok_response(id));
    read_next_request(c);  // left to time out
    ++requests;
    read_next_request(c);  // left to be cancelled
    ++requests;
    id = read_next_request(c);  // read as_stream()
    answer(http2_frame(headers_type, end_headers, id, "\x88") +
           http2_frame(data_type, end_stream, id, "streamed"));
    id = read_next_request(c);  // the last, blocking
    answer(ok_response(id));
    c.pause(1s);
  });
  cr::asio_backend backend;
  const auto req = h2c_get(server);
  EXPECT_EQ(req.send(backend).status(), 200);

  auto refused = req.async_send(backend, net::use_future);
  ASSERT_EQ(refused.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(refused.get().status(), 200);

  auto redirected = req.async_send(backend, net::use_future);
  ASSERT_EQ(redirected.wait_for(5s), std::future_status::ready);
  const auto r = redirected.get();
  EXPECT_EQ(r.status(), 200);
  ASSERT_EQ(r.history().size(), 1u);
  EXPECT_EQ(r.history()[0].head.status, 302);
  EXPECT_EQ(r.uri().path(), "/next");

  const auto t0 = std::chrono::steady_clock::now();
  auto timed_out = req.read_timeout(300ms).async_send(backend, net::use_future);
  ASSERT_EQ(timed_out.wait_for(5s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  try {
    timed_out.get();
    ADD_FAILURE() << "no timeout";
  } catch (const cr::timeout_error& e) {
    EXPECT_NE(std::string(e.what()).find("read timeout"), std::string::npos) << e.what();
  }

  net::cancellation_signal signal;
  std::promise<std::exception_ptr> cancelled;
  req.async_send(backend,
                 net::bind_cancellation_slot(
                     signal.slot(), [&](std::exception_ptr e, auto) { cancelled.set_value(e); }));
  for (int i = 0; i < 500 && requests < 7; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(requests.load(), 7);
  signal.emit(net::cancellation_type::terminal);
  auto c = cancelled.get_future();
  ASSERT_EQ(c.wait_for(5s), std::future_status::ready) << "the cancelled request hangs";
  const auto e = c.get();
  EXPECT_EQ(cr::error_code_of(e), cr::errc::operation_aborted);
  EXPECT_NE(cr::message_of(e).find("was cancelled"), std::string::npos) << cr::message_of(e);

  auto streamed = req.response_as(cr::as_stream()).async_send(backend, net::use_future);
  ASSERT_EQ(streamed.wait_for(5s), std::future_status::ready);
  auto s = streamed.get();
  std::string got;
  std::vector<char> buf(64);
  for (int i = 0; i < 10; ++i) {
    const std::size_t n = s.body().read_some(std::span<char>(buf));
    if (n == 0) break;
    got.append(buf.data(), n);
  }
  EXPECT_EQ(got, "streamed");

  EXPECT_EQ(req.send(backend).status(), 200);
  EXPECT_EQ(requests.load(), 9);
  EXPECT_EQ(server.connections_accepted(), 1);
}

// A redirect's body is not read, yet its bytes count against the connection's receive window
// (16 MiB) until they are credited back: 600 redirects of 16 KiB each (9.4 MiB) must reopen it
// with a WINDOW_UPDATE on stream 0, or the connection would stall in time. Each answer arrives
// whole, so the stream is over before the client takes its head.
TEST(Http2More, RedirectBodiesLeftUnreadReopenTheConnectionWindow) {
  constexpr int redirects = 600;
  std::atomic<int> window_updates{0};
  ct::fault_server server([&](ct::connection& c) {
    c.set_timeout(10s);
    read_preface(c);
    const std::string body(16384, 'r');
    for (int i = 0; i < 2 * redirects; ++i) {
      std::uint32_t id = 0;
      for (int frames = 0; frames < 100 && id == 0; ++frames) {
        const auto f = ct::read_http2_frame(c);
        // Not the one that opens the window, before the first request.
        if (f.type == ct::http2_window_update && f.stream == 0 && i > 0) ++window_updates;
        if (f.type == headers_type) id = f.stream;
      }
      if (id == 0) return;
      if (i % 2 == 1) {
        c.write(ok_response(id));
        continue;
      }
      // The redirect, then its body, ending the stream.
      c.write(redirect_to_next(id, end_headers) + http2_frame(data_type, end_stream, id, body));
    }
    for (int frames = 0; frames < 100 && window_updates == 0; ++frames) {
      const auto f = ct::read_http2_frame(c);
      if (f.type == ct::http2_window_update && f.stream == 0) ++window_updates;
    }
    c.pause(1s);
  });
  cr::asio_backend backend;
  const auto req = h2c_get(server);
  for (int i = 0; i < redirects; ++i) {
    const auto r = req.send(backend);
    ASSERT_EQ(r.status(), 200);
    ASSERT_EQ(r.history().size(), 1u);
  }
  for (int i = 0; i < 200 && window_updates == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_GT(window_updates.load(), 0) << "the redirects' bodies were never credited back";
  EXPECT_EQ(server.connections_accepted(), 1);
}

// --- a decompression bomb ---

TEST(Http2More, DecompressionBombIsBodyTooLargeAndTheConnectionLives) {
  const std::string bomb = gzip(std::string(32u << 20, '\0'));  // 32 MiB from ~32 KiB
  std::atomic<int> requests{0};
  ct::fault_server server([&](ct::connection& c) {
    read_preface(c);
    const auto id = read_next_request(c);
    ++requests;
    // ":status: 200", "content-encoding: gzip" (static name index 26, literal value).
    c.write(http2_frame(headers_type, end_headers, id, std::string("\x88\x0f\x0b\x04gzip")));
    for (std::size_t at = 0; at < bomb.size(); at += 16384) {
      const auto piece = bomb.substr(at, 16384);
      c.write(http2_frame(data_type, at + 16384 >= bomb.size() ? end_stream : 0, id, piece));
    }
    const auto next = read_next_request(c);
    ++requests;
    c.write(ok_response(next));
    c.pause(1s);
  });
  cr::asio_backend backend;
  const auto req = cr::basic_request()
                       .get(cr::uri(server.url("/")))
                       .version(cr::http_version::http2_prior_knowledge);
  const auto msg =
      ct::expect_error<cr::body_too_large>([&] { req.max_body_size(1u << 20).send(backend); });
  EXPECT_FALSE(msg.empty());
  EXPECT_EQ(req.send(backend).status(), 200);
  EXPECT_EQ(requests.load(), 2);
  EXPECT_EQ(server.connections_accepted(), 1);
}

// --- the backend destroyed while streams wait ---

TEST(Http2More, DestroyingTheBackendEndsWaitingStreams) {
  std::atomic<int> requests{0};
  ct::fault_server server(counts_and_never_answers(requests, 3));
  auto backend = std::make_unique<cr::asio_backend>();
  const auto req = h2c_get(server);
  std::promise<boost::system::error_code> blocking;
  std::thread caller([&] {
    try {
      req.send(*backend);
      blocking.set_value({});
    } catch (...) {
      blocking.set_value(cr::error_code_of(std::current_exception()));
    }
  });
  auto f1 = req.async_send(*backend, net::use_future);
  auto f2 = req.async_send(*backend, net::use_future);
  for (int i = 0; i < 500 && requests < 3; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(requests.load(), 3);

  const auto t0 = std::chrono::steady_clock::now();
  backend.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  auto b = blocking.get_future();
  const bool blocking_ended = b.wait_for(3s) == std::future_status::ready;
  EXPECT_TRUE(blocking_ended) << "the blocking call hangs";
  if (blocking_ended) EXPECT_EQ(b.get(), cr::errc::operation_aborted);
  for (auto* f : {&f1, &f2}) {
    ASSERT_EQ(f->wait_for(3s), std::future_status::ready) << "a stream hangs";
    try {
      f->get();
      ADD_FAILURE() << "no error";
    } catch (...) {
      EXPECT_EQ(cr::error_code_of(std::current_exception()), cr::errc::operation_aborted);
    }
  }
  caller.join();
}

// --- coroutines on the backend's own executor ---

// 20 coroutines spawned on the backend's executor share the origin's one HTTP/2 connection,
// byte-exact, beside an HTTP/1.1 request; a blocking call from there throws instead of
// waiting on itself.
TEST(Http2More, CoroutinesOnTheBackendsExecutorShareItsThreadAndConnection) {
  cr::asio_backend backend(ct::test_ca_options(cr::http_version::http2));
  const std::string small = docroot_file("small.txt");
  const auto h2 = cr::basic_request().get(cr::uri(h2_url("/small.txt")));
  const auto h1 = cr::basic_request()
                      .get(cr::uri(ct::http_url("/small.txt")))
                      .version(cr::http_version::http1_1);
  std::mutex m;
  std::set<std::string> connections;
  std::set<std::thread::id> threads;
  int exact = 0;
  std::vector<std::future<void>> done;
  for (int i = 0; i < 20; ++i) {
    done.push_back(net::co_spawn(
        backend.get_executor(),
        [&, i]() -> net::awaitable<void> {
          auto res = co_await h2.async_send(backend, net::use_awaitable);
          {
            std::lock_guard lock(m);
            threads.insert(std::this_thread::get_id());
            connections.insert(std::string(res.header("x-connection").value_or("none")));
            if (res.version() == cr::http_version::http2 && res.body() == small) ++exact;
          }
          if (i == 0) {
            auto plain = co_await h1.async_send(backend, net::use_awaitable);
            std::lock_guard lock(m);
            if (plain.version() == cr::http_version::http1_1 && plain.body() == small) ++exact;
            ct::expect_error<cr::invalid_request>([&] { h2.send(backend); });
          }
        },
        net::use_future));
  }
  for (auto& f : done) {
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "a coroutine hangs";
    f.get();
  }
  EXPECT_EQ(exact, 21);
  EXPECT_EQ(connections.size(), 1u);
  EXPECT_EQ(threads.size(), 1u) << "resumed on the backend's one thread";
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

// Destroying the backend while a coroutine on its executor waits for an HTTP/2 answer: the
// coroutine is resumed with operation_aborted before the threads stop; nothing hangs.
TEST(Http2More, DestroyingTheBackendEndsACoroutineOnItsExecutor) {
  std::atomic<int> requests{0};
  ct::fault_server server(counts_and_never_answers(requests, 1));
  auto backend = std::make_unique<cr::asio_backend>();
  const auto req = h2c_get(server);
  auto ended = net::co_spawn(
      backend->get_executor(),
      [&]() -> net::awaitable<void> { co_await req.async_send(*backend, net::use_awaitable); },
      net::use_future);
  for (int i = 0; i < 500 && requests < 1; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(requests.load(), 1);
  const auto t0 = std::chrono::steady_clock::now();
  backend.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  ASSERT_EQ(ended.wait_for(3s), std::future_status::ready) << "the coroutine hangs";
  try {
    ended.get();
    ADD_FAILURE() << "no error";
  } catch (...) {
    EXPECT_EQ(cr::error_code_of(std::current_exception()), cr::errc::operation_aborted);
  }
}

// A request still opening its connection (here: a TLS handshake the server never answers)
// when the backend is destroyed fails at once, over either version, instead of waiting for
// its connect timeout.
class BackendDestroyedWhileConnecting : public ::testing::TestWithParam<cr::http_version> {};

TEST_P(BackendDestroyedWhileConnecting, TheRequestFailsPromptly) {
  std::atomic<int> accepted{0};
  ct::fault_server server([&](ct::connection& c) {
    ++accepted;
    c.pause(10s);  // reads nothing, answers nothing: the handshake waits
  });
  auto backend = std::make_unique<cr::asio_backend>();
  const auto req = cr::basic_request()
                       .get(cr::uri(server.url("https", "/")))
                       .version(GetParam())
                       .connect_timeout(20s);
  std::promise<std::exception_ptr> blocking;
  std::thread caller([&] {
    try {
      req.send(*backend);
      blocking.set_value(nullptr);
    } catch (...) {
      blocking.set_value(std::current_exception());
    }
  });
  auto async = req.async_send(*backend, net::use_future);
  // Over HTTP/2 the second request waits for the first one's connection.
  const int connections = GetParam() == cr::http_version::http1_1 ? 2 : 1;
  for (int i = 0; i < 500 && accepted < connections; ++i)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(accepted.load(), connections);

  const auto t0 = std::chrono::steady_clock::now();
  backend.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  auto b = blocking.get_future();
  const bool ended = b.wait_for(3s) == std::future_status::ready;
  EXPECT_TRUE(ended) << "the blocking call waits";
  if (ended) {
    const auto e = b.get();
    ASSERT_TRUE(e);
    EXPECT_EQ(cr::error_code_of(e), cr::errc::operation_aborted) << cr::message_of(e);
  }
  ASSERT_EQ(async.wait_for(3s), std::future_status::ready) << "the async request waits";
  try {
    async.get();
    ADD_FAILURE() << "no error";
  } catch (...) {
    EXPECT_EQ(cr::error_code_of(std::current_exception()), cr::errc::operation_aborted)
        << cr::message_of(std::current_exception());
  }
  if (!ended) b.wait_for(25s);  // lets the thread end before it is joined
  caller.join();
}

INSTANTIATE_TEST_SUITE_P(Versions, BackendDestroyedWhileConnecting,
                         ::testing::Values(cr::http_version::http1_1, cr::http_version::http2,
                                           cr::http_version::any),
                         [](const auto& info) {
                           switch (info.param) {
                             case cr::http_version::http1_1:
                               return std::string("Http11");
                             case cr::http_version::http2:
                               return std::string("Http2");
                             default:
                               return std::string("Any");
                           }
                         });
