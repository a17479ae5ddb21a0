// The sans-I/O HTTP/2 client core against nghttpd (nghttp2's own server, started by
// tests/servers/start.sh, h2c with prior knowledge) over a real TCP socket on 127.0.0.1. The
// driver here is a plain blocking socket loop, bounded in rounds and time: what the Asio
// backend will do, minus Asio. Bodies are compared with the docroot's files.
#include "proto/http2/client_connection.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace h2 = courier::proto::http2;
namespace ct = courier::test;
using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct response {
  int status = 0;
  courier::headers headers;
  std::string body;
  courier::headers trailers;
  bool ended = false;
  std::optional<std::string> error;
};

// One TCP connection to nghttpd, driven by a blocking loop.
class h2c_client {
 public:
  h2c_client() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    timeval tv{5, 0};  // no single read or write blocks longer
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(ct::port("NGHTTPD_PORT"));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot connect to nghttpd");
  }
  ~h2c_client() { ::close(fd_); }

  h2::client_connection conn;
  std::map<h2::stream_id, response> responses;
  std::optional<h2::connection_error_event> failure;

  h2::stream_id get(const std::string& path) {
    h2::request_head head;
    head.scheme = "http";
    head.authority = "127.0.0.1:" + ct::env("NGHTTPD_PORT");
    head.path = path;
    head.fields.add("User-Agent", "courier-h2-core-test");
    return conn.submit_request(head);
  }

  // Writes and reads until `done()` holds; false when 30 s or 100000 rounds pass first.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::string buffer(64 << 10, '\0');
    for (int round = 0; round < 100000 && std::chrono::steady_clock::now() < deadline; ++round) {
      write_all(conn.take_output());
      if (done()) return true;
      if (failure) return false;
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n < 0) throw std::runtime_error("recv failed or timed out");
      if (n == 0) {
        conn.receive_eof();
      } else {
        conn.receive(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      }
      drain();
      if (n == 0) return done();
    }
    return false;
  }

 private:
  void write_all(const std::string& bytes) {
    for (std::size_t at = 0; at < bytes.size();) {
      const ssize_t n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed or timed out");
      at += static_cast<std::size_t>(n);
    }
  }

  void drain() {
    for (int i = 0; i < 1'000'000; ++i) {
      auto ev = conn.next_event();
      if (!ev) return;
      if (auto* h = std::get_if<h2::response_head_event>(&*ev)) {
        responses[h->stream].status = h->status;
        responses[h->stream].headers = h->headers;
      } else if (auto* d = std::get_if<h2::data_event>(&*ev)) {
        responses[d->stream].body += d->data;
        conn.consumed(d->stream, d->data.size());  // the application keeps up
      } else if (auto* t = std::get_if<h2::trailers_event>(&*ev)) {
        responses[t->stream].trailers = t->trailers;
      } else if (auto* e = std::get_if<h2::end_of_stream_event>(&*ev)) {
        responses[e->stream].ended = true;
      } else if (auto* r = std::get_if<h2::stream_reset_event>(&*ev)) {
        responses[r->stream].error = r->message;
      } else if (auto* c = std::get_if<h2::connection_error_event>(&*ev)) {
        failure = *c;
      }
    }
  }

  int fd_ = -1;
};

TEST(Http2CoreNghttpd, FetchesAFileWithItsTrailer) {
  h2c_client client;
  const auto id = client.get("/small.txt");
  ASSERT_TRUE(client.run_until([&] { return client.responses[id].ended; }))
      << (client.failure ? client.failure->message : client.responses[id].error.value_or(""));
  const auto& r = client.responses.at(id);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.get("content-length").value_or(""), "100");
  EXPECT_EQ(r.body, read_file(ct::env("DOCROOT") + "/small.txt"));
  EXPECT_EQ(r.trailers.get("x-served-by").value_or(""), "nghttpd");
}

TEST(Http2CoreNghttpd, ManyStreamsOnOneConnectionIncludingALargeFile) {
  h2c_client client;
  const std::string large = read_file(ct::env("DOCROOT") + "/large.bin");
  const std::string small = read_file(ct::env("DOCROOT") + "/small.txt");
  std::vector<h2::stream_id> ids;
  ids.push_back(client.get("/large.bin"));
  for (int i = 0; i < 20; ++i)
    ids.push_back(client.get(i % 5 == 4 ? "/no-such-file" : "/small.txt"));
  ASSERT_TRUE(client.run_until([&] {
    for (auto id : ids)
      if (!client.responses[id].ended && !client.responses[id].error) return false;
    return true;
  }));
  EXPECT_EQ(client.responses.at(ids[0]).status, 200);
  EXPECT_EQ(client.responses.at(ids[0]).body.size(), large.size());
  EXPECT_TRUE(client.responses.at(ids[0]).body == large);
  for (int i = 0; i < 20; ++i) {
    const auto& r = client.responses.at(ids[i + 1]);
    EXPECT_FALSE(r.error) << *r.error;
    if (i % 5 == 4) {
      EXPECT_EQ(r.status, 404);
    } else {
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, small);
    }
  }
}

TEST(Http2CoreNghttpd, UploadInPiecesIsEchoedBack) {
  h2c_client client;
  h2::request_head head;
  head.method = courier::method::post;
  head.scheme = "http";
  head.authority = "127.0.0.1:" + ct::env("NGHTTPD_PORT");
  head.path = "/echo";
  const auto id = client.conn.submit_request(head, h2::request_body::supplied);
  std::string sent;
  for (int i = 0; i < 50; ++i) {
    std::string piece(10'000, static_cast<char>('A' + i % 26));
    sent += piece;
    client.conn.supply_body(id, std::move(piece), i == 49);
  }
  ASSERT_TRUE(client.run_until([&] { return client.responses[id].ended; }))
      << client.responses[id].error.value_or("");
  EXPECT_EQ(client.responses.at(id).status, 200);
  EXPECT_TRUE(client.responses.at(id).body == sent);
}

TEST(Http2CoreNghttpd, GracefulShutdownEndsTheConnection) {
  h2c_client client;
  const auto id = client.get("/small.txt");
  client.conn.shutdown();
  ASSERT_TRUE(client.run_until([&] { return client.responses[id].ended && client.conn.done(); }));
  EXPECT_EQ(client.responses.at(id).body.size(), 100u);
  EXPECT_FALSE(client.failure);
}

}  // namespace
