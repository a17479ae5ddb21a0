// Streamed bodies on the asio backend: as_stream() downloads (sync, istream, async), streamed
// uploads from callables, istreams and coroutines, progress, and the failure cases: an early
// close, an abandoned stream, a read timeout between chunks, a failing source.
#include <courier/body_source.hpp>
#include <courier/body_stream.hpp>
#include <courier/courier.hpp>

#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace cr = courier;
namespace ct = courier::test;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {
// The lowercase hex SHA-256 of `data`, as httpbin's /upload-count reports it.
std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    hex += digits[md[i] >> 4];
    hex += digits[md[i] & 15];
  }
  return hex;
}

cr::asio_backend& backend() {
  return ct::default_backend();
}
std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
auto stream_request() {
  return cr::basic_request().response_as(cr::as_stream());
}
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}
// Collects progress calls (from the sending thread or a backend thread).
struct progress_log {
  std::mutex m;
  std::vector<cr::transfer_progress> calls;
  cr::progress_callback callback() {
    return [this](const cr::transfer_progress& p) {
      std::lock_guard lock(m);
      calls.push_back(p);
    };
  }
  std::vector<cr::transfer_progress> of(cr::transfer_progress::direction d) {
    std::lock_guard lock(m);
    std::vector<cr::transfer_progress> out;
    for (auto& c : calls)
      if (c.dir == d) out.push_back(c);
    return out;
  }
};
}  // namespace

// --- downloads
// ------------------------------------------------------------------------------------

TEST(StreamingDownload, ChunksOfLargeBinMatchTheFile) {
  auto expected = read_file(ct::env("DOCROOT") + "/large.bin");
  auto res = stream_request().get(cr::uri(ct::http_url("/large.bin"))).send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.header("Content-Length"), std::to_string(expected.size()));
  std::string got;
  int chunks = 0;
  for (std::string_view chunk : res.body().chunks(16 * 1024)) {
    EXPECT_LE(chunk.size(), 16u * 1024);
    got.append(chunk);
    ++chunks;
  }
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
  EXPECT_GE(chunks, 8 * 1024 * 1024 / (16 * 1024));
  EXPECT_TRUE(res.body().at_end());
  EXPECT_EQ(res.body().bytes_received(), expected.size());
}

TEST(StreamingDownload, ChunkedBodyThroughIstream) {
  auto expected = read_file(ct::env("DOCROOT") + "/large.bin");
  auto res = stream_request().get(cr::uri(ct::http_url("/chunked/large.bin"))).send(backend());
  EXPECT_EQ(res.header("Transfer-Encoding"), "chunked");
  cr::body_istream in(res.body());
  std::string got{std::istreambuf_iterator<char>(in), {}};
  EXPECT_FALSE(in.bad());
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
}

TEST(StreamingDownload, GzipBodyIsDecodedWhileStreamed) {
  auto expected = read_file(ct::env("DOCROOT") + "/text/lorem.txt");
  auto res = stream_request().get(cr::uri(ct::http_url("/text/lorem.txt"))).send(backend());
  EXPECT_FALSE(res.header("Content-Encoding"));  // decoded: the header no longer applies
  cr::body_istream in(res.body());
  std::string line;
  int lines = 0;
  std::string got;
  while (std::getline(in, line) && lines < 10'000) {
    got += line + "\n";
    ++lines;
  }
  EXPECT_EQ(lines, 1600);
  EXPECT_TRUE(got == expected);
}

TEST(StreamingDownload, HttpbinStreamDripAndRange) {
  auto lines = stream_request().get(cr::uri(ct::httpbin_url("/stream/20"))).send(backend());
  std::string all = lines.body().read_all();
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 20);

  auto drip = stream_request()
                  .get(cr::uri(ct::httpbin_url("/drip?numbytes=5&duration=0.5&delay=0")))
                  .send(backend());
  std::string dripped = drip.body().read_all();
  EXPECT_EQ(dripped, "*****");

  auto range = stream_request().get(cr::uri(ct::httpbin_url("/range/1000"))).send(backend());
  std::string r = range.body().read_all();
  ASSERT_EQ(r.size(), 1000u);
  EXPECT_EQ(r[0], 'a');
  EXPECT_EQ(r[26], 'a');
}

TEST(StreamingDownload, RedirectsAreFollowedBeforeTheStreamIsHandedOut) {
  auto res = stream_request().get(cr::uri(ct::http_url("/redirect-to-small"))).send(backend());
  EXPECT_EQ(res.status(), 200);
  ASSERT_EQ(res.history().size(), 1u);
  EXPECT_EQ(res.body().read_all(), read_file(ct::env("DOCROOT") + "/small.txt"));
}

TEST(StreamingDownload, AsyncReadsWithCoroutines) {
  auto expected = read_file(ct::env("DOCROOT") + "/large.bin");
  net::io_context ioc;
  std::string got;
  std::exception_ptr failure;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        auto res = co_await stream_request()
                       .get(cr::uri(ct::http_url("/chunked/large.bin")))
                       .async_send(backend(), net::use_awaitable);
        std::vector<char> buf(32 * 1024);
        for (int i = 0; i < 100'000; ++i) {  // bounded; the body needs ~256 reads
          std::size_t n =
              co_await res.body().async_read_some(std::span<char>(buf), net::use_awaitable);
          if (n == 0) break;
          got.append(buf.data(), n);
        }
      },
      [&](std::exception_ptr e) { failure = e; });
  ioc.run_for(30s);
  ASSERT_FALSE(failure);
  EXPECT_TRUE(got == expected);
}

TEST(StreamingDownload, AsyncReadWithFutureAndCallbackTokens) {
  auto res = stream_request()
                 .get(cr::uri(ct::http_url("/small.txt")))
                 .async_send(backend(), net::use_future)
                 .get();
  std::array<char, 64> buf{};
  std::size_t first = res.body().async_read_some(std::span<char>(buf), net::use_future).get();
  EXPECT_GT(first, 0u);
  std::promise<std::pair<std::exception_ptr, std::size_t>> done;
  res.body().async_read_some(std::span<char>(buf), [&](std::exception_ptr e, std::size_t n) {
    done.set_value({e, n});
  });
  auto [e, second] = done.get_future().get();
  EXPECT_FALSE(e) << cr::message_of(e);
  EXPECT_EQ(first + second, 100u);
}

TEST(StreamingDownload, HalfAGibibyteWithProgress) {
  progress_log log;
  auto start = std::chrono::steady_clock::now();
  auto res = stream_request()
                 .get(cr::uri(ct::http_url("/sparse-512m.bin")))
                 .on_progress(log.callback())
                 .send(backend());
  std::vector<char> buf(256 * 1024);
  std::uint64_t total = 0;
  bool all_zero = true;
  for (int i = 0; i < 1'000'000; ++i) {
    std::size_t n = res.body().read_some(std::span<char>(buf));
    if (n == 0) break;
    if (buf[0] != 0 || buf[n - 1] != 0) all_zero = false;
    total += n;
  }
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(total, std::uint64_t{1} << 29);
  EXPECT_TRUE(all_zero);
  auto calls = log.of(cr::transfer_progress::direction::download);
  ASSERT_FALSE(calls.empty());
  EXPECT_TRUE(calls.back().done);
  EXPECT_EQ(calls.back().bytes, std::uint64_t{1} << 29);
  EXPECT_EQ(calls.back().total, std::uint64_t{1} << 29);
  // Rate-bounded: at most one call per 100 ms (plus the first and the final one).
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  EXPECT_LE(calls.size(), static_cast<std::size_t>(ms / 100 + 3));
  std::cout << "[ streamed 512 MiB in " << ms << " ms, " << calls.size() << " progress calls ]\n";
}

// Several GiB through one stream: every byte is counted, and nothing holds the body (the memory
// figure for 1 and 4 GiB, download and upload, is in bench/streaming, not asserted here).
// Skipped under the sanitizers, where moving 4 GiB through instrumented copies takes minutes.
TEST(StreamingDownload, FourGibibytesThroughOneStream) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "4 GiB is too slow under ASan; HalfAGibibyteWithProgress covers the path";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  GTEST_SKIP() << "4 GiB is too slow under ASan; HalfAGibibyteWithProgress covers the path";
#endif
#endif
  auto res = stream_request().get(cr::uri(ct::http_url("/sparse-4g.bin"))).send(backend());
  std::vector<char> buf(256 * 1024);
  std::uint64_t total = 0;
  for (int i = 0; i < 100'000; ++i) {  // 4 GiB is 16,384 full reads
    std::size_t n = res.body().read_some(std::span<char>(buf));
    if (n == 0) break;
    total += n;
  }
  EXPECT_EQ(total, std::uint64_t{4} << 30);
  EXPECT_TRUE(res.body().at_end());
}

TEST(StreamingDownload, AsFileReportsProgress) {
  progress_log log;
  auto path = std::filesystem::temp_directory_path() / "courier-stream-progress.bin";
  auto res = cr::basic_request()
                 .get(cr::uri(ct::http_url("/large.bin")))
                 .response_as(cr::as_file(path))
                 .on_progress(log.callback())
                 .send(backend());
  auto calls = log.of(cr::transfer_progress::direction::download);
  ASSERT_FALSE(calls.empty());
  EXPECT_TRUE(calls.back().done);
  EXPECT_EQ(calls.back().bytes, 8u << 20);
  EXPECT_EQ(std::filesystem::file_size(path), 8u << 20);
  std::filesystem::remove(path);
}

TEST(StreamingDownload, AStreamReadToItsEndGivesItsConnectionBack) {
  ct::fault_server server([](ct::connection& c) {
    for (int i = 0; i < 10; ++i) {
      if (!c.try_read_request_head()) return;
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    }
  });
  for (int i = 0; i < 3; ++i) {
    auto res = stream_request().get(cr::uri(server.url("/"))).send(backend());
    EXPECT_EQ(res.body().read_all(), "hello");
  }
  EXPECT_EQ(server.connections_accepted(), 1);
}

// --- failures mid-stream
// --------------------------------------------------------------------------

TEST(StreamingFailure, EarlyCloseSaysHowManyBytesArrived) {
  ct::fault_server server(ct::close_mid_body(100'000, 5'000));
  auto res = stream_request().get(cr::uri(server.url("/"))).send(backend());
  std::vector<char> buf(4096);
  std::uint64_t got = 0;
  try {
    for (int i = 0; i < 1000; ++i) {
      std::size_t n = res.body().read_some(std::span<char>(buf));
      if (n == 0) break;
      got += n;
    }
    FAIL() << "no error after " << got << " bytes";
  } catch (const cr::read_error& e) {
    EXPECT_EQ(got, 5000u);
    EXPECT_NE(std::string(e.what()).find("5000"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("100000"), std::string::npos) << e.what();
  }
  // A second read repeats the error instead of pretending the body ended.
  EXPECT_THROW(res.body().read_some(std::span<char>(buf)), cr::read_error);
}

// The server writes an endless chunked body as fast as the socket lets it: the client reads a
// little and stops. It must not read on by itself (backpressure), and abandoning the stream
// must close the connection rather than drain a body that never ends.
TEST(StreamingFailure, BackpressureAndAbandonedStreamCloses) {
  std::atomic<std::uint64_t> written{0};
  std::atomic<bool> peer_gone{false};
  ct::fault_server server([&](ct::connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "4000\r\n" + std::string(0x4000, 'z') + "\r\n";
    try {
      for (int i = 0; i < 1'000'000; ++i) {  // 16 GiB at most; the client stops far earlier
        c.write(chunk);
        written += chunk.size();
      }
    } catch (const ct::fault_error&) {
      peer_gone = true;
    }
  });
  {
    auto res = stream_request().get(cr::uri(server.url("/"))).send(backend());
    std::vector<char> buf(64 * 1024);
    std::uint64_t got = 0;
    for (int i = 0; i < 16; ++i)
      got += res.body().read_some(std::span<char>(buf));
    EXPECT_GT(got, 0u);
    std::this_thread::sleep_for(500ms);
    auto w1 = written.load();
    std::this_thread::sleep_for(500ms);
    // Stalled: only what socket buffers hold was written, and nothing more while we wait.
    EXPECT_EQ(written.load(), w1);
    EXPECT_LT(w1, std::uint64_t{64} << 20) << "the client read far ahead of the consumer";
    EXPECT_FALSE(peer_gone.load());
  }  // the stream is abandoned here
  for (int i = 0; i < 100 && !peer_gone; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(peer_gone.load()) << "the abandoned stream's connection was not closed";
}

TEST(StreamingFailure, ReadTimeoutAppliesBetweenChunks) {
  ct::fault_server server([](ct::connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'y'));
    c.pause(3s);
  });
  auto res = stream_request().get(cr::uri(server.url("/"))).read_timeout(300ms).send(backend());
  std::vector<char> buf(4096);
  EXPECT_EQ(res.body().read_some(std::span<char>(buf)), 100u);
  // A slow consumer is not a timeout: only the wait for the server counts.
  std::this_thread::sleep_for(500ms);
  auto start = std::chrono::steady_clock::now();
  try {
    res.body().read_some(std::span<char>(buf));
    FAIL() << "no timeout";
  } catch (const cr::timeout_error& e) {
    EXPECT_NE(std::string(e.what()).find("100 body bytes"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

// --- uploads
// --------------------------------------------------------------------------------------

TEST(StreamingUpload, ChunksAreSentChunkedAndEchoed) {
  std::vector<std::string> pieces = {"first ", "", "second ", std::string(100'000, 'q'), "end"};
  std::size_t i = 0;
  auto res = cr::basic_request()
                 .post(cr::uri(ct::httpbin_url("/upload-echo")))
                 .body(cr::body_from_chunks([&]() -> std::optional<std::string> {
                   if (i == pieces.size()) return std::nullopt;
                   return pieces[i++];
                 }))
                 .response_as(cr::as_string())
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.body(), "first second " + std::string(100'000, 'q') + "end");
  EXPECT_EQ(res.header("X-Request-Framing"), "chunked");
}

TEST(StreamingUpload, IstreamWithSizeSendsContentLengthAndProgress) {
  const std::string data = pattern(3 << 20);
  std::istringstream in(data);
  progress_log log;
  auto res = cr::basic_request()
                 .post(cr::uri(ct::httpbin_url("/upload-echo")))
                 .body(cr::body_from_istream(in, data.size()))
                 .on_progress(log.callback())
                 .progress_interval(0ms)
                 .response_as(cr::as_string())
                 .send(backend());
  EXPECT_TRUE(res.body() == data);
  EXPECT_EQ(res.header("X-Request-Framing"), "length " + std::to_string(data.size()));
  auto up = log.of(cr::transfer_progress::direction::upload);
  ASSERT_GE(up.size(), 2u);
  EXPECT_TRUE(up.back().done);
  EXPECT_EQ(up.back().bytes, data.size());
  EXPECT_EQ(up.back().total, data.size());
  for (std::size_t k = 1; k < up.size(); ++k)
    EXPECT_GE(up[k].bytes, up[k - 1].bytes);
  auto down = log.of(cr::transfer_progress::direction::download);
  ASSERT_FALSE(down.empty());
  EXPECT_EQ(down.back().bytes, data.size());
}

TEST(StreamingUpload, CoroutineSource) {
  int calls = 0;
  auto source = [&calls](std::span<char> buf) -> net::awaitable<std::size_t> {
    if (calls == 5) co_return 0;
    ++calls;
    net::steady_timer t(co_await net::this_coro::executor, 20ms);  // a source that waits
    co_await t.async_wait(net::use_awaitable);
    std::size_t n = std::min<std::size_t>(buf.size(), 1000);
    std::fill_n(buf.data(), n, static_cast<char>('0' + calls));
    co_return n;
  };
  auto res = cr::basic_request()
                 .post(cr::uri(ct::httpbin_url("/upload-echo")))
                 .body(cr::body_from_async(source))
                 .response_as(cr::as_string())
                 .send(backend());
  EXPECT_EQ(res.body(), std::string(1000, '1') + std::string(1000, '2') + std::string(1000, '3') +
                            std::string(1000, '4') + std::string(1000, '5'));
}

TEST(StreamingUpload, ThrowingSourceAbortsAndClosesTheConnection) {
  std::atomic<bool> peer_closed{false};
  ct::fault_server server([&](ct::connection& c) {
    c.read_request_head();
    peer_closed = c.wait_for_peer_close(5s);
  });
  int calls = 0;
  auto req = cr::basic_request()
                 .post(cr::uri(server.url("/upload")))
                 .body(cr::body_from_reader([&](std::span<char> buf) -> std::size_t {
                   if (++calls > 3) throw std::runtime_error("disk on fire");
                   std::fill(buf.begin(), buf.end(), 'x');
                   return buf.size();
                 }));
  try {
    req.send(backend());
    FAIL() << "no error";
  } catch (const cr::body_source_error& e) {
    EXPECT_EQ(e.code(), cr::errc::write_failed);
    EXPECT_NE(std::string(e.what()).find("disk on fire"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(3 * 64 * 1024)), std::string::npos)
        << e.what();
  }
  for (int i = 0; i < 100 && !peer_closed; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(peer_closed.load()) << "the connection was kept (pooled) after the source failed";

  // Async: the same failure is an error code.
  calls = 0;
  auto fut = req.async_send(backend(), net::use_future);
  try {
    fut.get();
    FAIL() << "no error";
  } catch (const cr::error& e) {
    EXPECT_EQ(e.code(), cr::errc::write_failed);
  }
}

TEST(StreamingUpload, AsyncLargeBodyArrivesWhole) {
  // Larger than the socket buffers: the first part is written at once, the rest through the
  // reactor; every byte must arrive, once and in order.
  std::string body(24 << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + i % 23);
  auto res = cr::basic_request()
                 .post(cr::uri(ct::httpbin_url("/upload-count")))
                 .body(body)
                 .async_send(backend(), net::use_future)
                 .get();
  ASSERT_EQ(res.status(), 200) << *res.body();
  EXPECT_NE(res.body()->find("\"bytes\": " + std::to_string(body.size())), std::string::npos)
      << *res.body();
  EXPECT_NE(res.body()->find(sha256_hex(body)), std::string::npos) << *res.body();
}

TEST(StreamingUpload, SourceShorterThanItsSizeFails) {
  auto res = [] {
    return cr::basic_request()
        .post(cr::uri(ct::httpbin_url("/upload-count")))
        .body(cr::body_from_reader([](std::span<char>) -> std::size_t { return 0; }, 10))
        .send(backend());
  };
  EXPECT_THROW(res(), cr::body_source_error);
}

TEST(StreamingUpload, RedirectWithAnUnrewindableSourceIsATypedError) {
  // A 307 means: send the same body again, to the new place.
  auto req = cr::basic_request()
                 .post(cr::uri(ct::httpbin_url("/upload-redirect-307")))
                 .body(cr::body_from_chunks([n = 0]() mutable -> std::optional<std::string> {
                   if (n++ == 1) return std::nullopt;
                   return std::string("once");
                 }));
  EXPECT_THROW(req.send(backend()), cr::invalid_request);

  std::istringstream in("seekable");
  auto res = cr::basic_request()
                 .post(cr::uri(ct::httpbin_url("/upload-redirect-307")))
                 .body(cr::body_from_istream(in))
                 .response_as(cr::as_string())
                 .send(backend());
  EXPECT_EQ(res.history().size(), 1u);
  EXPECT_EQ(res.body(), "seekable");
}

TEST(StreamingUpload, LargeUploadToADiscardingServer) {
  constexpr std::uint64_t size = std::uint64_t{1} << 30;  // 1 GiB, about a second
  std::atomic<std::uint64_t> received{0};
  ct::fault_server server([&](ct::connection& c) {
    std::string head = c.read_request_head();
    if (head.find("Content-Length: " + std::to_string(size)) == std::string::npos) {
      c.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    std::uint64_t n = 0;
    for (int i = 0; i < 10'000'000 && n < size; ++i)
      n += c.read_some().size();
    received = n;
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  std::uint64_t produced = 0;
  auto res = cr::basic_request()
                 .put(cr::uri(server.url("/sink")))
                 .body(cr::body_from_reader(
                     [&](std::span<char> buf) {
                       std::size_t n = static_cast<std::size_t>(
                           std::min<std::uint64_t>(buf.size(), size - produced));
                       std::memset(buf.data(), 'u', n);
                       produced += n;
                       return n;
                     },
                     size))
                 .response_as(cr::as_string())
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.body(), "ok");
  EXPECT_EQ(received.load(), size);
}
