// What a server may send or do that courier must not take at face value: more codings than it
// decodes, a Location with raw UTF-8, a keep-alive connection closed after a request arrived.
#include <courier/courier.hpp>

#include "support/expect_error.hpp"
#include "support/fault_server.hpp"
#include "support/test_backends.hpp"

#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cr = courier;
namespace ct = courier::test;
using namespace std::chrono_literals;

namespace {

using courier::test::expect_error;

std::string repeated(std::string_view item, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) {
    if (i > 0) out += ", ";
    out += item;
  }
  return out;
}

// The requests a fault server saw, each as its request line and body, in arrival order.
class request_log {
 public:
  // Reads one request (head, then a Content-Length body) and records it; nullopt when the
  // peer closed instead.
  std::optional<std::string> read(ct::connection& c) {
    auto head = c.try_read_request_head();
    if (!head) return std::nullopt;
    std::string body;
    if (const auto at = head->find("Content-Length: "); at != std::string::npos) {
      body = c.read_exactly(std::stoul(head->substr(at + 16)));
    }
    std::string line = head->substr(0, head->find("\r\n"));
    if (!body.empty()) line += " [" + body + "]";
    std::lock_guard lock(mutex_);
    seen_.push_back(line);
    return line;
  }
  std::vector<std::string> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> seen_;
};

std::string where(const ct::fault_server& server) {
  return "127.0.0.1:" + std::to_string(server.port());
}

}  // namespace

// --- content and transfer codings ---------------------------------------------------------------

TEST(Codings, TooManyContentCodingsIsAProtocolError) {
  // gzip listed 1,000 times: courier decodes at most 4 in a chain, and the body must not come
  // back undecoded as if it were the content.
  request_log log;
  ct::fault_server server([&](ct::connection& c) {
    log.read(c);
    c.write("HTTP/1.1 200 OK\r\nContent-Encoding: " + repeated("gzip", 1000) +
            "\r\nContent-Length: 5\r\n\r\nhello");
  });
  std::optional<std::string> got;
  auto msg = expect_error<cr::protocol_error>([&] {
    got = *cr::basic_request()
               .read_timeout(5s)
               .get(cr::uri(server.url("/many")))
               .send(ct::default_backend())
               .body();
  });
  EXPECT_EQ(msg, "the response from " + where(server) +
                     " cannot be decoded: Content-Encoding lists 1000 codings, more than the "
                     "limit of 4");
  EXPECT_FALSE(got.has_value()) << "the app got bytes: " << *got;
  EXPECT_EQ(log.seen(), std::vector<std::string>{"GET /many HTTP/1.1"});
}

TEST(Codings, ContentCodingsOfSeveralFieldsAreCountedTogether) {
  request_log log;
  ct::fault_server server([&](ct::connection& c) {
    log.read(c);
    c.write(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip\r\nContent-Encoding: gzip\r\n"
        "Content-Encoding: identity, gzip, gzip\r\nContent-Length: 5\r\n\r\nhello");
  });
  auto msg = expect_error<cr::protocol_error>([&] {
    cr::basic_request().read_timeout(5s).get(cr::uri(server.url("/"))).send(ct::default_backend());
  });
  EXPECT_NE(msg.find("Content-Encoding lists 5 codings, more than the limit of 4"),
            std::string::npos)
      << msg;
  EXPECT_EQ(log.seen().size(), 1u);
}

TEST(Codings, AnUnknownContentCodingAloneLeavesTheBodyAsSent) {
  // Documented: a coding courier does not know is left to the caller, header included.
  ct::fault_server server([](ct::connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 OK\r\nContent-Encoding: x-custom\r\nContent-Length: 5\r\n\r\nhello");
  });
  auto res = cr::basic_request()
                 .read_timeout(5s)
                 .get(cr::uri(server.url("/")))
                 .send(ct::default_backend());
  ASSERT_TRUE(res.body()) << res.body().error();
  EXPECT_EQ(*res.body(), "hello");
  EXPECT_EQ(res.header("Content-Encoding"), "x-custom");
}

TEST(Codings, TooManyCodingsAreBytesAsSentWhenDecompressionIsOff) {
  const std::string list = repeated("gzip", 1000);
  ct::fault_server server([&](ct::connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 OK\r\nContent-Encoding: " + list + "\r\nContent-Length: 5\r\n\r\nhello");
  });
  auto res = cr::basic_request()
                 .decompress(false)
                 .read_timeout(5s)
                 .get(cr::uri(server.url("/")))
                 .send(ct::default_backend());
  ASSERT_TRUE(res.body()) << res.body().error();
  EXPECT_EQ(*res.body(), "hello");
  EXPECT_EQ(res.header("Content-Encoding"), list);
}

TEST(Codings, TooManyTransferCodingsIsAProtocolError) {
  request_log log;
  ct::fault_server server([&](ct::connection& c) {
    log.read(c);
    c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: " + repeated("gzip", 999) +
            ", chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  });
  auto msg = expect_error<cr::protocol_error>([&] {
    cr::basic_request()
        .read_timeout(5s)
        .get(cr::uri(server.url("/te")))
        .send(ct::default_backend());
  });
  EXPECT_EQ(msg,
            "the response from " + where(server) +
                " is not valid HTTP/1.1: malformed HTTP/1.1 response: Transfer-Encoding lists 1000 "
                "codings, more than the "
                "limit of 4");
  EXPECT_EQ(log.seen(), std::vector<std::string>{"GET /te HTTP/1.1"});
}

// --- redirects --------------------------------------------------------------------------------

namespace {
// Answers the first request with a 302 to `location` (raw bytes, as some servers send), and
// every later one on the same connection with 200 "ok".
ct::fault_server::script redirect_once_to(std::string location, request_log& log) {
  return [location = std::move(location), &log](ct::connection& c) {
    for (int i = 0; i < 5 && log.read(c); ++i) {
      if (i == 0) {
        c.write("HTTP/1.1 302 Found\r\nLocation: " + location + "\r\nContent-Length: 0\r\n\r\n");
      } else {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      }
    }
  };
}
}  // namespace

TEST(Redirects, RawUtf8LocationIsFollowedPercentEncoded) {
  request_log log;
  ct::fault_server server(redirect_once_to("/caf\xC3\xA9?q=\xC3\xBC", log));
  cr::asio_backend local;
  auto res = cr::basic_request().read_timeout(5s).get(cr::uri(server.url("/start"))).send(local);
  ASSERT_EQ(res.status(), 200) << res.body().error();
  EXPECT_EQ(*res.body(), "ok");
  EXPECT_EQ(log.seen(),
            (std::vector<std::string>{"GET /start HTTP/1.1", "GET /caf%C3%A9?q=%C3%BC HTTP/1.1"}));
  EXPECT_EQ(res.uri().path(), "/caf%C3%A9");
  ASSERT_EQ(res.history().size(), 1u);
  EXPECT_EQ(res.history()[0].head.status, 302);
}

TEST(Redirects, AbsoluteRawUtf8LocationIsFollowedPercentEncoded) {
  request_log log;
  std::atomic<int> port{0};  // the server's, known once it listens
  ct::fault_server server([&](ct::connection& c) {
    for (int i = 0; i < 5 && log.read(c); ++i) {
      const std::string to = "http://127.0.0.1:" + std::to_string(port.load()) + "/na\xC3\xAFve";
      c.write(i == 0 ? "HTTP/1.1 301 Moved\r\nLocation: " + to + "\r\nContent-Length: 0\r\n\r\n"
                     : std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    }
  });
  port = server.port();
  cr::asio_backend local;
  auto res = cr::basic_request().read_timeout(5s).get(cr::uri(server.url("/start"))).send(local);
  ASSERT_EQ(res.status(), 200) << res.body().error();
  EXPECT_EQ(log.seen(),
            (std::vector<std::string>{"GET /start HTTP/1.1", "GET /na%C3%AFve HTTP/1.1"}));
}

TEST(Redirects, AnOtherwiseInvalidLocationIsStillAnError) {
  // A space is not a byte to fix up: the Location is refused as before, naming it.
  request_log log;
  ct::fault_server server(redirect_once_to("/a b", log));
  cr::asio_backend local;
  auto msg = expect_error<cr::invalid_uri>(
      [&] { cr::basic_request().read_timeout(5s).get(cr::uri(server.url("/start"))).send(local); });
  EXPECT_NE(msg.find("invalid uri \"/a b\""), std::string::npos) << msg;
  EXPECT_EQ(log.seen(), std::vector<std::string>{"GET /start HTTP/1.1"});
}

// --- no silent replay of requests that may have been processed (RFC 9110 9.2.2) ------------------

namespace {
// Connection 0 answers its first request with keep-alive, then reads the second request whole
// and closes without answering. Later connections answer every request with "fresh".
ct::fault_server::script close_after_second_request(request_log& log) {
  return [&log](ct::connection& c) {
    if (c.index() == 0) {
      if (!log.read(c)) return;
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
      log.read(c);
      c.close();
      return;
    }
    for (int i = 0; i < 5 && log.read(c); ++i) {
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh");
    }
  };
}
}  // namespace

TEST(Retries, PostOnAConnectionClosedAfterTheRequestIsNotSentAgain) {
  request_log log;
  ct::fault_server server(close_after_second_request(log));
  cr::asio_backend local;
  auto first = cr::basic_request().read_timeout(5s).get(cr::uri(server.url("/first"))).send(local);
  ASSERT_EQ(*first.body(), "first");
  std::optional<std::string> got;
  auto msg = expect_error<cr::read_error>([&] {
    got = *cr::basic_request()
               .read_timeout(5s)
               .body("order=1")
               .post(cr::uri(server.url("/order")))
               .send(local)
               .body();
  });
  EXPECT_EQ(msg, "the reused connection to " + where(server) +
                     " closed without answering the POST request after it was sent; the server "
                     "may have processed it, so it was not retried (only idempotent requests are "
                     "sent again automatically)");
  EXPECT_FALSE(got.has_value());
  EXPECT_EQ(log.seen(),
            (std::vector<std::string>{"GET /first HTTP/1.1", "POST /order HTTP/1.1 [order=1]"}));
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(Retries, AsyncPostIsNotSentAgainEither) {
  request_log log;
  ct::fault_server server(close_after_second_request(log));
  cr::asio_backend local;
  ASSERT_EQ(*cr::basic_request().get(cr::uri(server.url("/first"))).send(local).body(), "first");
  auto future = cr::basic_request()
                    .read_timeout(5s)
                    .body("order=2")
                    .post(cr::uri(server.url("/order")))
                    .async_send(local, boost::asio::use_future);
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  // The async API reports the same error, message included.
  try {
    future.get();
    ADD_FAILURE() << "no error";
  } catch (const cr::read_error& e) {
    EXPECT_NE(std::string(e.what()).find("may have processed it"), std::string::npos) << e.what();
  }
  EXPECT_EQ(log.seen(),
            (std::vector<std::string>{"GET /first HTTP/1.1", "POST /order HTTP/1.1 [order=2]"}));
}

TEST(Retries, PatchIsNotIdempotentEither) {
  request_log log;
  ct::fault_server server(close_after_second_request(log));
  cr::asio_backend local;
  ASSERT_EQ(*cr::basic_request().get(cr::uri(server.url("/first"))).send(local).body(), "first");
  auto msg = expect_error<cr::read_error>([&] {
    cr::basic_request()
        .read_timeout(5s)
        .body("x")
        .method(cr::method::patch, cr::uri(server.url("/item")))
        .send(local);
  });
  EXPECT_NE(msg.find("PATCH request"), std::string::npos) << msg;
  EXPECT_EQ(log.seen().size(), 2u);
}

TEST(Retries, GetOnAConnectionClosedAfterTheRequestIsSentAgain) {
  request_log log;
  ct::fault_server server(close_after_second_request(log));
  cr::asio_backend local;
  ASSERT_EQ(*cr::basic_request().get(cr::uri(server.url("/first"))).send(local).body(), "first");
  auto res = cr::basic_request().read_timeout(5s).get(cr::uri(server.url("/again"))).send(local);
  ASSERT_TRUE(res.body()) << res.body().error();
  EXPECT_EQ(*res.body(), "fresh");
  EXPECT_EQ(log.seen(), (std::vector<std::string>{"GET /first HTTP/1.1", "GET /again HTTP/1.1",
                                                  "GET /again HTTP/1.1"}));
  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST(Retries, PutIsIdempotentAndSentAgainWithItsBody) {
  request_log log;
  ct::fault_server server(close_after_second_request(log));
  cr::asio_backend local;
  ASSERT_EQ(*cr::basic_request().get(cr::uri(server.url("/first"))).send(local).body(), "first");
  auto res = cr::basic_request()
                 .read_timeout(5s)
                 .body("v=2")
                 .put(cr::uri(server.url("/item")))
                 .send(local);
  ASSERT_TRUE(res.body()) << res.body().error();
  EXPECT_EQ(*res.body(), "fresh");
  EXPECT_EQ(log.seen(), (std::vector<std::string>{"GET /first HTTP/1.1", "PUT /item HTTP/1.1 [v=2]",
                                                  "PUT /item HTTP/1.1 [v=2]"}));
}

TEST(Retries, PostGoesOnAFreshConnectionWhenThePooledOneIsSeenClosedFirst) {
  // Closed before the POST is written: its bytes never left, so a fresh connection is fine.
  request_log log;
  ct::fault_server server([&](ct::connection& c) {
    if (!log.read(c)) return;
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.close();
  });
  cr::asio_backend local;
  ASSERT_EQ(*cr::basic_request().get(cr::uri(server.url("/first"))).send(local).body(), "ok");
  // The client sees the FIN before it sends again (bounded wait for it to arrive).
  std::this_thread::sleep_for(50ms);
  auto res = cr::basic_request()
                 .read_timeout(5s)
                 .body("order=3")
                 .post(cr::uri(server.url("/order")))
                 .send(local);
  ASSERT_TRUE(res.body()) << res.body().error();
  EXPECT_EQ(*res.body(), "ok");
  EXPECT_EQ(log.seen(),
            (std::vector<std::string>{"GET /first HTTP/1.1", "POST /order HTTP/1.1 [order=3]"}));
  EXPECT_EQ(server.connections_accepted(), 2);
}
