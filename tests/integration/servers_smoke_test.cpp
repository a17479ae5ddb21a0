// Proves the test fixture itself works: every server tests/servers/start.sh launched answers as
// described in tests/servers/README.md, and fault_server behaves. Talks Asio/Beast directly, not
// courier, so a courier bug cannot hide a fixture bug (or the other way round). Every step runs
// under a deadline.
#include "support/fault_server.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <chrono>
#include <exception>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ct = courier::test;
using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto step_limit = 10s;

// Runs the coroutine `body(executor)` to completion on a fresh io_context and rethrows what it
// threw. Each stream below has an expiry, so it ends; run_for is the backstop.
template <class Body>
void run_bounded(Body body) {
  asio::io_context ioc;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(ioc, body(ioc.get_executor()), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  ioc.run_for(30s);
  if (!done) throw std::runtime_error("the smoke test step did not finish within 30 s");
  if (error) std::rethrow_exception(error);
}

using executor = asio::io_context::executor_type;
using response = http::response<http::string_body>;

std::string file_contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

asio::awaitable<beast::tcp_stream> connect_to(executor ex, std::string_view host,
                                              std::uint16_t port) {
  beast::tcp_stream stream(ex);
  stream.expires_after(step_limit);
  co_await stream.async_connect(tcp::endpoint(asio::ip::make_address(host), port),
                                asio::use_awaitable);
  co_return stream;
}

http::request<http::empty_body> get_request(std::string_view target, std::string_view host) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "courier-servers-smoke");
  return req;
}

template <class Stream>
asio::awaitable<response> round_trip(Stream& stream, const http::request<http::empty_body>& req) {
  beast::get_lowest_layer(stream).expires_after(step_limit);
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

// One GET over plain HTTP; the connection is closed afterwards.
response http_get(std::string_view host, std::uint16_t port, std::string_view target,
                  std::string_view accept_encoding = {}) {
  response res;
  run_bounded([&](executor ex) -> asio::awaitable<void> {
    auto stream = co_await connect_to(ex, host, port);
    const bool ipv6 = host.find(':') != std::string_view::npos;
    const auto authority = ipv6 ? "[" + std::string(host) + "]" : std::string(host);
    auto req = get_request(target, authority + ":" + std::to_string(port));
    if (!accept_encoding.empty()) req.set(http::field::accept_encoding, accept_encoding);
    res = co_await round_trip(stream, req);
  });
  return res;
}

asio::ssl::context client_tls_context() {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(ct::env("CA_FILE"));
  ctx.set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

template <class SslStream>
void prepare_tls_client(SslStream& stream, const char* host) {
  // OpenSSL's own host check, so a mismatch shows as X509_V_ERR_HOSTNAME_MISMATCH.
  if (SSL_set1_host(stream.native_handle(), host) != 1 ||
      SSL_set_tlsext_host_name(stream.native_handle(), host) != 1) {
    throw std::runtime_error("cannot set the TLS host name");
  }
}

// Raw bytes until the peer closes: what a client sees of a fault_server script.
struct raw_reply {
  std::string bytes;
  boost::system::error_code end;  // eof for a clean close, connection_reset for an RST
};

enum class then { wait, half_close };

raw_reply raw_exchange(std::uint16_t port, std::string_view request, then after = then::wait) {
  raw_reply reply;
  run_bounded([&](executor ex) -> asio::awaitable<void> {
    auto stream = co_await connect_to(ex, "127.0.0.1", port);
    co_await asio::async_write(stream, asio::buffer(request.data(), request.size()),
                               asio::use_awaitable);
    if (after == then::half_close) stream.socket().shutdown(tcp::socket::shutdown_send);
    co_await asio::async_read(stream, asio::dynamic_buffer(reply.bytes),
                              asio::redirect_error(asio::use_awaitable, reply.end));
  });
  return reply;
}

constexpr std::string_view simple_request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// --- nginx --------------------------------------------------------------------------------------

TEST(ServersSmoke, NginxServesSmallTxt) {
  const auto res = http_get("127.0.0.1", ct::port("NGINX_HTTP_PORT"), "/small.txt");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body().size(), 100u);
  EXPECT_EQ(res.body(), file_contents(ct::env("DOCROOT") + "/small.txt"));
  EXPECT_FALSE(res.chunked());
}

TEST(ServersSmoke, NginxServesLargeBin) {
  const auto res = http_get("127.0.0.1", ct::port("NGINX_HTTP_PORT"), "/large.bin");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body().size(), 8u * 1024 * 1024);
  EXPECT_EQ(res.body(), file_contents(ct::env("DOCROOT") + "/large.bin"));
}

TEST(ServersSmoke, NginxOverIpv6Loopback) {
  if (!ct::try_env("NGINX_HTTP6_PORT")) GTEST_SKIP() << "no IPv6 loopback on this machine";
  const auto res = http_get("::1", ct::port("NGINX_HTTP6_PORT"), "/small.txt");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body().size(), 100u);
}

TEST(ServersSmoke, NginxChunkedLocationIsChunkedAndNeverGzipped) {
  const auto res =
      http_get("127.0.0.1", ct::port("NGINX_HTTP_PORT"), "/chunked/text/lorem.txt", "gzip");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_TRUE(res.chunked());
  EXPECT_EQ(res.count(http::field::content_encoding), 0u);
  EXPECT_EQ(res.body(), file_contents(ct::env("DOCROOT") + "/text/lorem.txt"));
}

TEST(ServersSmoke, NginxGzipsTextWhenAsked) {
  const auto res = http_get("127.0.0.1", ct::port("NGINX_HTTP_PORT"), "/text/lorem.txt", "gzip");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_encoding], "gzip");
  EXPECT_TRUE(res.chunked());
  const auto original = file_contents(ct::env("DOCROOT") + "/text/lorem.txt");
  EXPECT_GT(original.size(), 150u * 1024);
  EXPECT_LT(res.body().size(), original.size() / 4);  // it really is compressed
  EXPECT_EQ(res.body().substr(0, 2), "\x1f\x8b");     // the gzip magic
}

TEST(ServersSmoke, NginxRedirectsToSmallTxt) {
  const auto res = http_get("127.0.0.1", ct::port("NGINX_HTTP_PORT"), "/redirect-to-small");
  EXPECT_EQ(res.result_int(), 302);
  EXPECT_EQ(res[http::field::location], "/small.txt");
}

TEST(ServersSmoke, NginxKeepsTheConnectionAlive) {
  const auto port = ct::port("NGINX_HTTP_PORT");
  run_bounded([&](executor ex) -> asio::awaitable<void> {
    auto stream = co_await connect_to(ex, "127.0.0.1", port);
    for (int i = 0; i < 3; ++i) {
      const auto res = co_await round_trip(stream, get_request("/hello.json", "127.0.0.1"));
      EXPECT_EQ(res.result_int(), 200);
      EXPECT_TRUE(res.keep_alive());
      EXPECT_NE(res.body().find("\"hello\""), std::string::npos);
    }
  });
}

TEST(ServersSmoke, NginxHttpsVerifiesWithTheTestCa) {
  auto ctx = client_tls_context();
  const auto port = ct::port("NGINX_HTTPS_PORT");
  response res;
  run_bounded([&](executor ex) -> asio::awaitable<void> {
    beast::ssl_stream<beast::tcp_stream> stream(co_await connect_to(ex, "127.0.0.1", port), ctx);
    prepare_tls_client(stream, "localhost");
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    res = co_await round_trip(stream, get_request("/small.txt", "localhost"));
  });
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body().size(), 100u);
}

// The handshake fails, and OpenSSL says why: the reason each port exists.
long failed_verification(std::string_view port_key) {
  auto ctx = client_tls_context();
  const auto port = ct::port(port_key);
  long verify_result = X509_V_OK;
  boost::system::error_code handshake;
  run_bounded([&](executor ex) -> asio::awaitable<void> {
    beast::ssl_stream<beast::tcp_stream> stream(co_await connect_to(ex, "127.0.0.1", port), ctx);
    prepare_tls_client(stream, "localhost");
    co_await stream.async_handshake(asio::ssl::stream_base::client,
                                    asio::redirect_error(asio::use_awaitable, handshake));
    verify_result = SSL_get_verify_result(stream.native_handle());
  });
  EXPECT_TRUE(handshake) << port_key << ": the handshake succeeded";
  return verify_result;
}

TEST(ServersSmoke, NginxExpiredCertificateFailsVerification) {
  EXPECT_EQ(failed_verification("NGINX_HTTPS_EXPIRED_PORT"), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST(ServersSmoke, NginxWrongHostCertificateFailsVerification) {
  EXPECT_EQ(failed_verification("NGINX_HTTPS_WRONGHOST_PORT"), X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST(ServersSmoke, NginxUntrustedCertificateFailsVerification) {
  EXPECT_EQ(failed_verification("NGINX_HTTPS_UNTRUSTED_PORT"),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST(ServersSmoke, NginxClientCertificatePortSeesTheClientCertificate) {
  auto ctx = client_tls_context();
  ctx.use_certificate_chain_file(ct::env("CLIENT_CERT_FILE"));
  ctx.use_private_key_file(ct::env("CLIENT_KEY_FILE"), asio::ssl::context::pem);
  const auto port = ct::port("NGINX_HTTPS_CLIENTCERT_PORT");
  response res;
  run_bounded([&](executor ex) -> asio::awaitable<void> {
    beast::ssl_stream<beast::tcp_stream> stream(co_await connect_to(ex, "127.0.0.1", port), ctx);
    prepare_tls_client(stream, "localhost");
    co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    res = co_await round_trip(stream, get_request("/client-cert", "localhost"));
  });
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "SUCCESS CN=courier test client\n");
}

// --- httpbin ------------------------------------------------------------------------------------

TEST(ServersSmoke, HttpbinAnswersGet) {
  const auto res = http_get("127.0.0.1", ct::port("HTTPBIN_PORT"), "/get?smoke=1");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_NE(res.body().find("\"url\""), std::string::npos) << res.body();
  EXPECT_NE(res.body().find("/get?smoke=1"), std::string::npos) << res.body();
}

// --- WebSocket ----------------------------------------------------------------------------------

TEST(ServersSmoke, WebSocketEchoUpgradesByHand) {
  const auto port = ct::port("WS_PORT");
  std::string head, echoed;
  run_bounded([&](executor ex) -> asio::awaitable<void> {
    auto stream = co_await connect_to(ex, "127.0.0.1", port);
    // The key and its accept value are the example of RFC 6455, section 1.3.
    const std::string upgrade =
        "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    co_await asio::async_write(stream, asio::buffer(upgrade), asio::use_awaitable);
    std::string received;
    const auto head_size = co_await asio::async_read_until(stream, asio::dynamic_buffer(received),
                                                           "\r\n\r\n", asio::use_awaitable);
    head = received.substr(0, head_size);
    received.erase(0, head_size);

    // A masked text frame "hello" (FIN, opcode 1); the server answers it unmasked.
    const unsigned char mask[4] = {0x11, 0x22, 0x33, 0x44};
    std::string frame = {'\x81', static_cast<char>(0x80 | 5)};
    frame.append(reinterpret_cast<const char*>(mask), 4);
    const std::string payload = "hello";
    for (std::size_t i = 0; i < payload.size(); ++i) {
      frame += static_cast<char>(payload[i] ^ mask[i % 4]);
    }
    co_await asio::async_write(stream, asio::buffer(frame), asio::use_awaitable);
    if (received.size() < 7) {
      co_await asio::async_read(stream, asio::dynamic_buffer(received),
                                asio::transfer_at_least(7 - received.size()), asio::use_awaitable);
    }
    echoed = received.substr(0, 7);
  });
  EXPECT_EQ(head.substr(0, 13), "HTTP/1.1 101 ") << head;
  EXPECT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos)
      << head;
  EXPECT_EQ(echoed, std::string("\x81\x05hello", 7));
}

TEST(ServersSmoke, SecureWebSocketEchoes) {
  auto ctx = client_tls_context();
  const auto port = ct::port("WSS_PORT");
  std::string echoed;
  run_bounded([&](executor ex) -> asio::awaitable<void> {
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(
        co_await connect_to(ex, "127.0.0.1", port), ctx);
    prepare_tls_client(ws.next_layer(), "localhost");
    co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    beast::get_lowest_layer(ws).expires_never();  // the websocket timeout option takes over
    ws.set_option(websocket::stream_base::timeout{step_limit, step_limit, false});
    co_await ws.async_handshake("localhost:" + std::to_string(port), "/echo", asio::use_awaitable);
    co_await ws.async_write(asio::buffer(std::string_view("secure hello")), asio::use_awaitable);
    beast::flat_buffer buffer;
    co_await ws.async_read(buffer, asio::use_awaitable);
    echoed = beast::buffers_to_string(buffer.data());
    co_await ws.async_close(websocket::close_code::normal, asio::use_awaitable);
  });
  EXPECT_EQ(echoed, "secure hello");
}

// --- fault_server -------------------------------------------------------------------------------

// Waits (bounded) until the server's scripts recorded `n` errors.
std::vector<std::string> wait_for_script_errors(const ct::fault_server& server, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + step_limit;
  auto errors = server.script_errors();
  while (errors.size() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    errors = server.script_errors();
  }
  return errors;
}

TEST(FaultServer, RespondRawSendsExactlyItsBytes) {
  const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  ct::fault_server server(ct::respond_raw(answer));
  const auto reply = raw_exchange(server.port(), simple_request);
  EXPECT_EQ(reply.bytes, answer);
  EXPECT_EQ(reply.end, asio::error::eof);
  EXPECT_EQ(server.connections_accepted(), 1);
  EXPECT_TRUE(server.script_errors().empty());
  EXPECT_EQ(server.url("/x"), "http://127.0.0.1:" + std::to_string(server.port()) + "/x");
}

TEST(FaultServer, CloseMidBodySendsLessThanDeclared) {
  ct::fault_server server(ct::close_mid_body(1000, 300));
  const auto reply = raw_exchange(server.port(), simple_request);
  const auto body_start = reply.bytes.find("\r\n\r\n");
  ASSERT_NE(body_start, std::string::npos);
  EXPECT_NE(reply.bytes.find("Content-Length: 1000\r\n"), std::string::npos);
  EXPECT_EQ(reply.bytes.size() - body_start - 4, 300u);
  EXPECT_EQ(reply.end, asio::error::eof);
}

TEST(FaultServer, SlowDripSpacesTheBytes) {
  ct::fault_server server(ct::slow_drip("abcd", 50ms));
  const auto start = std::chrono::steady_clock::now();
  const auto reply = raw_exchange(server.port(), simple_request);
  EXPECT_EQ(reply.bytes, "abcd");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
}

TEST(FaultServer, ResetAfterHeadResets) {
  ct::fault_server server(ct::reset_after_head());
  const auto reply = raw_exchange(server.port(), simple_request);
  EXPECT_EQ(reply.bytes, "");
  EXPECT_EQ(reply.end, asio::error::connection_reset) << reply.end.message();
}

TEST(FaultServer, DestructorInterruptsAScriptThatNeverAnswers) {
  asio::io_context ioc;
  tcp::socket client(ioc);
  std::optional<ct::fault_server> server(std::in_place, ct::never_answer());
  client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server->port()));
  asio::write(client, asio::buffer(simple_request));
  const auto deadline = std::chrono::steady_clock::now() + step_limit;
  while (server->connections_accepted() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(server->connections_accepted(), 1);
  std::this_thread::sleep_for(50ms);  // the script is now blocked waiting for the client

  const auto start = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  // The held connection was closed, not left open.
  client.non_blocking(true);
  char byte = 0;
  boost::system::error_code ec = asio::error::would_block;
  for (int i = 0; i < 100 && ec == asio::error::would_block; ++i) {
    client.read_some(asio::buffer(&byte, 1), ec);
    if (ec == asio::error::would_block) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

TEST(FaultServer, ConnectionsRunConcurrently) {
  // Connection 0 is held while connection 1 is answered.
  ct::fault_server server([](ct::connection& c) {
    c.read_request_head();
    if (c.index() == 0) {
      c.wait_for_peer_close(step_limit);
      return;
    }
    c.write("second");
  });
  asio::io_context ioc;
  tcp::socket held(ioc);
  held.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  asio::write(held, asio::buffer(simple_request));
  const auto deadline = std::chrono::steady_clock::now() + step_limit;
  while (server.connections_accepted() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  const auto reply = raw_exchange(server.port(), simple_request);
  EXPECT_EQ(reply.bytes, "second");
  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST(FaultServer, KeepAliveScriptServesSeveralRequests) {
  ct::fault_server server([](ct::connection& c) {
    for (int i = 0; i < 10; ++i) {  // bounded: the client sends two requests, then closes
      const auto head = c.try_read_request_head();
      if (!head) return;
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + std::to_string(i));
    }
  });
  std::string bodies;
  run_bounded([&](executor ex) -> asio::awaitable<void> {
    auto stream = co_await connect_to(ex, "127.0.0.1", server.port());
    for (int i = 0; i < 2; ++i) {
      bodies += (co_await round_trip(stream, get_request("/", "127.0.0.1"))).body();
    }
  });
  EXPECT_EQ(bodies, "01");
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(FaultServer, ScriptErrorsAreRecorded) {
  ct::fault_server server([](ct::connection& c) { c.read_exactly(10); });
  const auto reply = raw_exchange(server.port(), "abc", then::half_close);
  EXPECT_EQ(reply.bytes, "");
  const auto errors = wait_for_script_errors(server, 1);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("read_exactly"), std::string::npos) << errors[0];
}

TEST(FaultServer, ReadsTimeOut) {
  ct::fault_server server([](ct::connection& c) {
    c.set_timeout(200ms);
    c.read_request_head();
  });
  asio::io_context ioc;
  tcp::socket silent(ioc);
  silent.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  const auto errors = wait_for_script_errors(server, 1);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("timed out"), std::string::npos) << errors[0];
}

}  // namespace
