// Proxies: tinyproxy (forwarding and CONNECT, with and without Basic auth) and microsocks
// (SOCKS5, with and without user/password) started by tests/servers/start.sh, through to nginx,
// httpbin and the WebSocket server; bad proxies played by the fault server.
#include <courier/courier.hpp>
#include <courier/proxy.hpp>

#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"

#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>

namespace cr = courier;
namespace ws = courier::ws;
namespace ct = courier::test;
using namespace std::chrono_literals;

namespace {

cr::asio_backend& backend() {
  return ct::test_ca_backend();
}

std::string tinyproxy(bool with_credentials = false, bool auth_port = false) {
  std::string creds =
      with_credentials ? ct::env("PROXY_USER") + ":" + ct::env("PROXY_PASSWORD") + "@" : "";
  return "http://" + creds + "127.0.0.1:" +
         ct::env(auth_port || with_credentials ? "TINYPROXY_AUTH_PORT" : "TINYPROXY_PORT");
}

std::string microsocks(std::string_view scheme, bool with_credentials = false) {
  std::string creds =
      with_credentials ? ct::env("SOCKS_USER") + ":" + ct::env("SOCKS_PASSWORD") + "@" : "";
  return std::string(scheme) + "://" + creds +
         "127.0.0.1:" + ct::env(with_credentials ? "MICROSOCKS_AUTH_PORT" : "MICROSOCKS_PORT");
}

// How many lines of a tinyproxy log contain `needle` (tinyproxy logs every request line).
int log_count(const std::string& log_name, const std::string& needle) {
  std::ifstream in(ct::env("STATE_DIR") + "/logs/" + log_name + ".log");
  std::string line;
  int n = 0;
  for (int i = 0; i < 1'000'000 && std::getline(in, line); ++i) {
    if (line.find(needle) != std::string::npos) ++n;
  }
  return n;
}

// tinyproxy writes its log line before it connects on: by the time a response arrived, the
// line is there. A short bounded wait covers buffered writes.
int settled_log_count(const std::string& log_name, const std::string& needle, int at_least) {
  int n = 0;
  for (int i = 0; i < 50; ++i) {
    n = log_count(log_name, needle);
    if (n >= at_least) break;
    std::this_thread::sleep_for(20ms);
  }
  return n;
}

std::string connect_line(std::string_view host, const std::string& port_key) {
  return "CONNECT " + std::string(host) + ":" + ct::env(port_key) + " HTTP/1.1";
}

template <class E, class F>
E expect_error(F f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    throw;
  }
  ADD_FAILURE() << "no exception";
  throw std::runtime_error("no exception");
}

template <class F>
std::chrono::milliseconds elapsed(F f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0);
}

// What a fault-server script saw, shared with the test thread.
struct captured {
  std::mutex m;
  std::string head;
  void set(std::string h) {
    std::lock_guard lock(m);
    head = std::move(h);
  }
  std::string get() {
    std::lock_guard lock(m);
    return head;
  }
};

std::string small_txt() {
  std::ifstream in(ct::env("DOCROOT") + "/small.txt", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ws::websocket open_ws(const std::string& url, cr::proxy p) {
  return cr::basic_request()
      .get(cr::uri(url))
      .proxy(std::move(p))
      .open_websocket(backend(), ws::high_level{})
      .result;
}

void echo_once(ws::websocket& socket, const std::string& text) {
  socket.send_text(text);
  EXPECT_EQ(socket.receive_text(), text);
  socket.close();
}

}  // namespace

// --- HTTP proxy: forwarding and CONNECT ------------------------------------------------------

TEST(HttpProxy, PlainHttpIsForwardedInAbsoluteForm) {
  const auto url = ct::http_url("/small.txt");
  const int before = log_count("tinyproxy", "GET " + url);
  auto res = cr::basic_request().get(cr::uri(url)).proxy(cr::proxy(tinyproxy())).send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.body().value(), small_txt());
  EXPECT_EQ(settled_log_count("tinyproxy", "GET " + url, before + 1), before + 1);
}

TEST(HttpProxy, HttpsGoesThroughAConnectTunnelWithTlsToTheOrigin) {
  const auto line = connect_line("localhost", "NGINX_HTTPS_PORT");
  const int before = log_count("tinyproxy", line);
  auto res = cr::basic_request()
                 .get(cr::uri(ct::https_url("/small.txt")))
                 .proxy(cr::proxy(tinyproxy()))
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.body().value(), small_txt());
  EXPECT_EQ(settled_log_count("tinyproxy", line, before + 1), before + 1);
}

TEST(HttpProxy, HttpsWithProxyCredentials) {
  const auto line = connect_line("localhost", "NGINX_HTTPS_PORT");
  const int before = log_count("tinyproxy-auth", line);
  auto res = cr::basic_request()
                 .get(cr::uri(ct::https_url("/hello.json")))
                 .proxy(cr::proxy(tinyproxy(true)))
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_NE(res.body().value().find("\"hello\":\"world\""), std::string::npos);
  EXPECT_EQ(settled_log_count("tinyproxy-auth", line, before + 1), before + 1);
}

TEST(HttpProxy, ForwardedHttpWithCredentialsNeverShowsThemToTheOrigin) {
  auto res = cr::basic_request()
                 .get(cr::uri(ct::httpbin_url("/headers")))
                 .proxy(cr::proxy(tinyproxy(true)))
                 .send(backend());
  ASSERT_EQ(res.status(), 200) << res.body().error();
  const auto& body = res.body().value();
  EXPECT_NE(body.find("\"Host\""), std::string::npos);
  EXPECT_EQ(body.find("Proxy-Authorization"), std::string::npos) << body;
  EXPECT_EQ(body.find(ct::env("PROXY_PASSWORD")), std::string::npos) << body;
}

TEST(HttpProxy, MissingCredentialsGive407AsProxyError) {
  auto e = expect_error<cr::proxy_error>([] {
    cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt")))
        .proxy(cr::proxy(tinyproxy(false, true)))
        .send(backend());
  });
  EXPECT_EQ(e.status(), 407);
  EXPECT_FALSE(e.body().empty());
  EXPECT_EQ(e.code(), cr::errc::proxy_error);
  EXPECT_NE(std::string(e.what()).find("407"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
}

TEST(HttpProxy, WrongCredentialsGive407WithoutEchoingThePassword) {
  const std::string url =
      "http://courier:not-the-password@127.0.0.1:" + ct::env("TINYPROXY_AUTH_PORT");
  auto e = expect_error<cr::proxy_error>([&] {
    cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt")))
        .proxy(cr::proxy(url))
        .send(backend());
  });
  // tinyproxy answers a CONNECT with wrong credentials 401 (and missing ones 407).
  EXPECT_TRUE(e.status() == 407 || e.status() == 401) << e.status();
  const std::string what = e.what();
  EXPECT_NE(what.find("credentials are wrong"), std::string::npos) << what;
  EXPECT_EQ(what.find("not-the-password"), std::string::npos) << what;
  EXPECT_NE(what.find("courier:***@127.0.0.1"), std::string::npos) << what;
}

TEST(HttpProxy, ForwardedPlainHttpWithout407CredentialsIsAProxyErrorToo) {
  auto e = expect_error<cr::proxy_error>([] {
    cr::basic_request()
        .get(cr::uri(ct::http_url("/small.txt")))
        .proxy(cr::proxy(tinyproxy(false, true)))
        .send(backend());
  });
  EXPECT_EQ(e.status(), 407);
  EXPECT_FALSE(e.body().empty());
}

TEST(HttpProxy, A407ToAFileDownloadLeavesNoFile) {
  // The proxy's refusal page is not the download: it must not land under the asked name.
  const auto target = std::filesystem::temp_directory_path() / "courier-proxy-407.bin";
  std::filesystem::remove(target);
  auto e = expect_error<cr::proxy_error>([&] {
    cr::basic_request()
        .get(cr::uri(ct::http_url("/small.txt")))
        .proxy(cr::proxy(tinyproxy(false, true)))
        .response_as(cr::as_file(target))
        .send(backend());
  });
  EXPECT_EQ(e.status(), 407);
  EXPECT_FALSE(e.body().empty());
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST(HttpProxy, AsyncSendThroughTheProxy) {
  auto fut = cr::basic_request()
                 .get(cr::uri(ct::https_url("/small.txt")))
                 .proxy(cr::proxy(tinyproxy(true)))
                 .async_send(backend(), boost::asio::use_future);
  ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
  auto res = fut.get();
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.body().value().size(), 100u);
}

TEST(HttpProxy, WebSocketThroughConnect) {
  auto plain = open_ws(ct::ws_url("/echo"), cr::proxy(tinyproxy()));
  echo_once(plain, "ws through tinyproxy");
  auto secure = open_ws(ct::wss_url("/echo"), cr::proxy(tinyproxy(true)));
  echo_once(secure, "wss through tinyproxy with credentials");
  EXPECT_GE(log_count("tinyproxy", connect_line("127.0.0.1", "WS_PORT")), 1);
  EXPECT_GE(log_count("tinyproxy-auth", connect_line("localhost", "WSS_PORT")), 1);
}

TEST(HttpProxy, WebSocketUpgradeNeverCarriesProxyCredentialsToTheOrigin) {
  // A Proxy-Authorization set by hand is for the proxy: the tunnel's CONNECT carries the
  // configured credentials, and the upgrade request sent through it must not repeat any.
  auto socket = cr::basic_request()
                    .get(cr::uri(ct::ws_url("/headers")))
                    .header("Proxy-Authorization", "Basic c2VjcmV0OnNlY3JldA==")
                    .proxy(cr::proxy(tinyproxy(true)))
                    .open_websocket(backend(), ws::high_level{})
                    .result;
  const std::string seen = socket.receive_text();
  EXPECT_NE(seen.find("sec-websocket-key"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("proxy-authorization"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("c2VjcmV0"), std::string::npos) << seen;
  socket.close();
}

TEST(HttpProxy, WebSocketWithoutCredentialsIsAProxyError) {
  auto e = expect_error<cr::proxy_error>(
      [] { open_ws(ct::wss_url("/echo"), cr::proxy(tinyproxy(false, true))); });
  EXPECT_EQ(e.status(), 407);
}

// --- SOCKS5 ------------------------------------------------------------------------------------

TEST(Socks5, HttpAndHttpsWithoutAuth) {
  for (const char* scheme : {"socks5", "socks5h"}) {
    SCOPED_TRACE(scheme);
    auto res = cr::basic_request()
                   .get(cr::uri(ct::http_url("/small.txt")))
                   .proxy(cr::proxy(microsocks(scheme)))
                   .send(backend());
    EXPECT_EQ(res.status(), 200);
    EXPECT_EQ(res.body().value(), small_txt());
    auto tls = cr::basic_request()
                   .get(cr::uri(ct::https_url("/hello.json")))
                   .proxy(cr::proxy(microsocks(scheme)))
                   .send(backend());
    EXPECT_EQ(tls.status(), 200);
  }
}

TEST(Socks5, HttpsAndWebSocketsWithUserPassword) {
  auto res = cr::basic_request()
                 .get(cr::uri(ct::https_url("/small.txt")))
                 .proxy(cr::proxy(microsocks("socks5h", true)))
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  auto plain = open_ws(ct::ws_url("/echo"), cr::proxy(microsocks("socks5h", true)));
  echo_once(plain, "ws through microsocks");
  auto secure = open_ws(ct::wss_url("/echo"), cr::proxy(microsocks("socks5", true)));
  echo_once(secure, "wss through microsocks");
}

TEST(Socks5, WrongPasswordIsAProxyError) {
  const std::string url =
      "socks5h://courier:wrong-one@127.0.0.1:" + ct::env("MICROSOCKS_AUTH_PORT");
  auto e = expect_error<cr::proxy_error>([&] {
    cr::basic_request()
        .get(cr::uri(ct::http_url("/small.txt")))
        .proxy(cr::proxy(url))
        .send(backend());
  });
  const std::string what = e.what();
  EXPECT_EQ(what.find("wrong-one"), std::string::npos) << what;
  EXPECT_NE(what.find("rejected the user name or password"), std::string::npos) << what;
}

TEST(Socks5, MissingCredentialsIsAProxyError) {
  const std::string url = "socks5h://127.0.0.1:" + ct::env("MICROSOCKS_AUTH_PORT");
  auto e = expect_error<cr::proxy_error>([&] {
    cr::basic_request()
        .get(cr::uri(ct::http_url("/small.txt")))
        .proxy(cr::proxy(url))
        .send(backend());
  });
  EXPECT_EQ(e.status(), 256 + 0xFF);
  EXPECT_NE(std::string(e.what()).find("none of the offered"), std::string::npos) << e.what();
}

TEST(Socks5, UnreachableOriginIsTheProxysReply) {
  // Nothing listens on the fault server's port once it is gone: the proxy answers "refused".
  std::uint16_t port = 0;
  {
    ct::fault_server gone(ct::respond_raw(""));
    port = gone.port();
  }
  auto e = expect_error<cr::proxy_error>([&] {
    cr::basic_request()
        .get(cr::uri("http://127.0.0.1:" + std::to_string(port) + "/"))
        .proxy(cr::proxy(microsocks("socks5h")))
        .send(backend());
  });
  EXPECT_GE(e.status(), 1);
  EXPECT_LE(e.status(), 8);
}

// --- settings: backend, per request, NO_PROXY, redirects, pooling ---------------------------

TEST(ProxySettings, BackendProxyWithNoProxyAndPerRequestOverride) {
  cr::asio_backend_options o;
  o.tls.ca_file = ct::env("CA_FILE");
  o.proxy = cr::proxy_settings::through(cr::proxy(tinyproxy()));
  o.proxy.no_proxy = "example.invalid, 127.0.0.0/8";
  cr::asio_backend b(o);

  const auto through_line = connect_line("localhost", "NGINX_HTTPS_PORT");
  const int before = log_count("tinyproxy", through_line);
  EXPECT_EQ(cr::basic_request().get(cr::uri(ct::https_url("/small.txt"))).send(b).status(), 200);
  EXPECT_EQ(settled_log_count("tinyproxy", through_line, before + 1), before + 1);

  // 127.0.0.1 is in 127.0.0.0/8: direct.
  const auto url = ct::http_url("/small.txt");
  const int forwarded = log_count("tinyproxy", "GET " + url);
  EXPECT_EQ(cr::basic_request().get(cr::uri(url)).send(b).status(), 200);
  // A per-request "no proxy" wins over the backend's.
  auto direct = cr::basic_request().get(cr::uri(ct::https_url("/hello.json"))).no_proxy().send(b);
  EXPECT_EQ(direct.status(), 200);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(log_count("tinyproxy", "GET " + url), forwarded);
  EXPECT_EQ(log_count("tinyproxy", through_line), before + 1);
}

TEST(ProxySettings, RedirectToAnotherOriginReevaluatesNoProxy) {
  // httpbin (127.0.0.1) is direct by NO_PROXY; it redirects to nginx by the name localhost,
  // which goes through the proxy.
  cr::proxy_settings s = cr::proxy_settings::through(cr::proxy(tinyproxy()));
  s.no_proxy = "127.0.0.1";
  const std::string target = "http://localhost:" + ct::env("NGINX_HTTP_PORT") + "/small.txt";
  const int before = log_count("tinyproxy", "GET " + target);
  auto res = cr::basic_request()
                 .get(cr::uri(ct::httpbin_url("/redirect-to")).with_query_param("url", target))
                 .proxy(s)
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  ASSERT_EQ(res.history().size(), 1u);
  EXPECT_EQ(res.body().value(), small_txt());
  EXPECT_EQ(settled_log_count("tinyproxy", "GET " + target, before + 1), before + 1);
}

TEST(ProxySettings, PooledByProxyAndOrigin) {
  cr::asio_backend_options o;
  o.tls.ca_file = ct::env("CA_FILE");
  cr::asio_backend b(o);
  const auto line = connect_line("localhost", "NGINX_HTTPS_PORT");
  const int before = log_count("tinyproxy", line);
  auto via = [&] {
    return cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt")))
        .proxy(cr::proxy(tinyproxy()))
        .send(b)
        .status();
  };
  EXPECT_EQ(via(), 200);
  EXPECT_EQ(via(), 200);  // the tunnel is reused: no second CONNECT
  EXPECT_EQ(settled_log_count("tinyproxy", line, before + 1), before + 1);
  // Direct to the same origin: a connection of its own, not the tunnel, not the proxy.
  EXPECT_EQ(cr::basic_request().get(cr::uri(ct::https_url("/small.txt"))).send(b).status(), 200);
  // Through SOCKS to the same origin: again its own.
  EXPECT_EQ(cr::basic_request()
                .get(cr::uri(ct::https_url("/small.txt")))
                .proxy(cr::proxy(microsocks("socks5h")))
                .send(b)
                .status(),
            200);
  EXPECT_EQ(via(), 200);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(log_count("tinyproxy", line), before + 1);
}

TEST(ProxySettings, TunnelHeadersNeverCarryProxyAuthorizationToTheOrigin) {
  captured seen;
  ct::fault_server origin([&](ct::connection& c) {
    seen.set(c.read_request_head());
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  });
  // ws:// through CONNECT, with a Proxy-Authorization the caller set by hand.
  auto res = cr::basic_request()
                 .get(cr::uri(origin.url("/")))
                 .header("Proxy-Authorization", "Basic c2VjcmV0OnNlY3JldA==")
                 .proxy(cr::proxy(microsocks("socks5h", true)))
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  const auto head = seen.get();
  EXPECT_NE(head.find("GET / HTTP/1.1"), std::string::npos) << head;
  EXPECT_EQ(head.find("Proxy-Authorization"), std::string::npos) << head;
  EXPECT_EQ(head.find(ct::env("SOCKS_PASSWORD")), std::string::npos) << head;
}

// --- bad proxies (the fault server plays them) -------------------------------------------------

TEST(BadProxy, RefusedConnectionIsAConnectErrorNamingTheRedactedProxy) {
  std::uint16_t port = 0;
  {
    ct::fault_server gone(ct::respond_raw(""));
    port = gone.port();
  }
  const std::string url = "http://user:hunter2@127.0.0.1:" + std::to_string(port);
  auto e = expect_error<cr::connect_error>([&] {
    cr::basic_request().get(cr::uri(ct::https_url("/"))).proxy(cr::proxy(url)).send(backend());
  });
  const std::string what = e.what();
  EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
  EXPECT_NE(what.find("user:***@127.0.0.1:" + std::to_string(port)), std::string::npos) << what;
}

TEST(BadProxy, ForwardingProxyGetsAbsoluteFormAndItsCredentials) {
  captured seen;
  ct::fault_server proxy_server([&](ct::connection& c) {
    seen.set(c.read_request_head());
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  });
  const std::string url = "http://bob:p%40ss@127.0.0.1:" + std::to_string(proxy_server.port());
  auto res = cr::basic_request()
                 .get(cr::uri("http://origin.example:8080/a/b?c=d"))
                 .proxy(cr::proxy(url))
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  const auto head = seen.get();
  EXPECT_EQ(head.rfind("GET http://origin.example:8080/a/b?c=d HTTP/1.1\r\n", 0), 0u) << head;
  // base64("bob:p@ss")
  EXPECT_NE(head.find("Proxy-Authorization: Basic Ym9iOnBAc3M=\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Host: origin.example:8080\r\n"), std::string::npos) << head;
}

TEST(BadProxy, ConnectAnsweredThenClosedMidHandshakeIsAnError) {
  ct::fault_server proxy_server([](ct::connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 Conn");
  });
  auto url = "http://127.0.0.1:" + std::to_string(proxy_server.port());
  auto e = expect_error<cr::connect_error>([&] {
    cr::basic_request().get(cr::uri(ct::https_url("/"))).proxy(cr::proxy(url)).send(backend());
  });
  EXPECT_NE(std::string(e.what()).find("closed the connection before answering CONNECT"),
            std::string::npos)
      << e.what();
}

TEST(BadProxy, TunnelClosedDuringTlsIsATlsError) {
  ct::fault_server proxy_server([](ct::connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 Connection established\r\n\r\n");
    c.read_some();  // the ClientHello, then the tunnel dies
  });
  auto url = "http://127.0.0.1:" + std::to_string(proxy_server.port());
  EXPECT_THROW(
      cr::basic_request().get(cr::uri(ct::https_url("/"))).proxy(cr::proxy(url)).send(backend()),
      cr::tls_error);
}

TEST(BadProxy, ProxyClosingMidResponseIsAReadError) {
  ct::fault_server proxy_server(ct::close_mid_body(100, 10));
  auto url = "http://127.0.0.1:" + std::to_string(proxy_server.port());
  EXPECT_THROW(cr::basic_request()
                   .get(cr::uri("http://origin.example/"))
                   .proxy(cr::proxy_settings{cr::proxy(url), std::nullopt, std::nullopt, {}})
                   .send(backend()),
               cr::read_error);
}

TEST(BadProxy, ConnectAnsweredWithGarbageIsAProtocolError) {
  ct::fault_server proxy_server(ct::respond_raw("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
  auto url = "http://127.0.0.1:" + std::to_string(proxy_server.port());
  EXPECT_THROW(
      cr::basic_request().get(cr::uri(ct::https_url("/"))).proxy(cr::proxy(url)).send(backend()),
      cr::protocol_error);
}

TEST(BadProxy, ConnectRefusedWith403CarriesStatusAndBody) {
  ct::fault_server proxy_server(ct::respond_raw(
      "HTTP/1.1 403 Forbidden\r\nContent-Length: 12\r\nConnection: close\r\n\r\nnot allowed\n"));
  auto url = "http://127.0.0.1:" + std::to_string(proxy_server.port());
  auto e = expect_error<cr::proxy_error>([&] {
    cr::basic_request()
        .get(cr::uri(ct::wss_url("/echo")))
        .proxy(cr::proxy(url))
        .open_websocket(backend(), ws::high_level{});
  });
  EXPECT_EQ(e.status(), 403);
  EXPECT_EQ(e.body(), "not allowed\n");
}

TEST(BadProxy, SilentProxyIsATimeoutWithinTheConnectTimeout) {
  ct::fault_server proxy_server(ct::never_answer());
  auto url = "http://127.0.0.1:" + std::to_string(proxy_server.port());
  auto took = elapsed([&] {
    EXPECT_THROW(cr::basic_request()
                     .get(cr::uri(ct::https_url("/")))
                     .connect_timeout(300ms)
                     .proxy(cr::proxy(url))
                     .send(backend()),
                 cr::timeout_error);
  });
  EXPECT_LT(took, 3s);
}

TEST(BadProxy, SocksServerAnsweringGarbageIsAProtocolError) {
  ct::fault_server socks([](ct::connection& c) {
    c.read_exactly(3);  // the greeting
    c.write("HTTP/1.1 400 Bad Request\r\n\r\n");
  });
  auto url = "socks5h://127.0.0.1:" + std::to_string(socks.port());
  auto e = expect_error<cr::protocol_error>([&] {
    cr::basic_request().get(cr::uri(ct::http_url("/"))).proxy(cr::proxy(url)).send(backend());
  });
  EXPECT_NE(std::string(e.what()).find("answered garbage"), std::string::npos) << e.what();
}

TEST(BadProxy, SocksServerClosingAfterTheGreetingIsAConnectError) {
  ct::fault_server socks([](ct::connection& c) {
    c.read_exactly(3);
    c.write("\x05");  // half an answer
  });
  auto url = "socks5h://127.0.0.1:" + std::to_string(socks.port());
  EXPECT_THROW(
      cr::basic_request().get(cr::uri(ct::http_url("/"))).proxy(cr::proxy(url)).send(backend()),
      cr::connect_error);
}

TEST(BadProxy, SilentSocksServerIsATimeout) {
  ct::fault_server socks([](ct::connection& c) {
    c.read_exactly(3);
    c.wait_for_peer_close(5s);
  });
  auto url = "socks5h://127.0.0.1:" + std::to_string(socks.port());
  auto took = elapsed([&] {
    EXPECT_THROW(cr::basic_request()
                     .get(cr::uri(ct::ws_url("/echo")))
                     .connect_timeout(300ms)
                     .proxy(cr::proxy(url))
                     .open_websocket(backend(), ws::high_level{}),
                 cr::timeout_error);
  });
  EXPECT_LT(took, 3s);
}

TEST(BadProxy, SocksReplyWithFailureCodeIsAProxyError) {
  ct::fault_server socks([](ct::connection& c) {
    c.read_exactly(3);
    c.write(std::string("\x05\x00", 2));
    c.read_some();  // the CONNECT request
    c.write(std::string("\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00", 10));
  });
  auto url = "socks5://127.0.0.1:" + std::to_string(socks.port());
  auto e = expect_error<cr::proxy_error>([&] {
    cr::basic_request().get(cr::uri(ct::http_url("/"))).proxy(cr::proxy(url)).send(backend());
  });
  EXPECT_EQ(e.status(), 2);
  EXPECT_NE(std::string(e.what()).find("connection not allowed by ruleset"), std::string::npos)
      << e.what();
}

// --- an https:// proxy: TLS to the proxy (a TLS front before tinyproxy with auth) -----------

namespace {
std::string tls_tinyproxy() {
  return "https://" + ct::env("PROXY_USER") + ":" + ct::env("PROXY_PASSWORD") +
         "@localhost:" + ct::env("TINYPROXY_TLS_PORT");
}
}  // namespace

TEST(HttpsProxy, HttpsOriginIsTlsInsideTls) {
  const auto line = connect_line("localhost", "NGINX_HTTPS_PORT");
  const int before = log_count("tinyproxy-auth", line);
  auto res = cr::basic_request()
                 .get(cr::uri(ct::https_url("/small.txt")))
                 .proxy(cr::proxy(tls_tinyproxy()))
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.body().value(), small_txt());
  EXPECT_EQ(settled_log_count("tinyproxy-auth", line, before + 1), before + 1);
}

TEST(HttpsProxy, PlainHttpIsForwardedOverTls) {
  auto res = cr::basic_request()
                 .get(cr::uri(ct::http_url("/small.txt")))
                 .proxy(cr::proxy(tls_tinyproxy()))
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.body().value(), small_txt());
}

TEST(HttpsProxy, WebSocketsThroughIt) {
  auto plain = open_ws(ct::ws_url("/echo"), cr::proxy(tls_tinyproxy()));
  echo_once(plain, "ws in TLS to the proxy");
  auto secure = open_ws(ct::wss_url("/echo"), cr::proxy(tls_tinyproxy()));
  echo_once(secure, "wss in TLS in TLS");
}

TEST(HttpsProxy, TheProxysCertificateIsVerified) {
  // The system store does not know the test CA that signed the proxy's certificate.
  cr::asio_backend plain;
  auto e = expect_error<cr::tls_error>([&] {
    cr::basic_request()
        .get(cr::uri(ct::http_url("/small.txt")))
        .proxy(cr::proxy(tls_tinyproxy()))
        .send(plain);
  });
  const std::string what = e.what();
  EXPECT_NE(what.find("proxy https://courier:***@localhost:"), std::string::npos) << what;
  EXPECT_EQ(what.find(ct::env("PROXY_PASSWORD")), std::string::npos) << what;
}

TEST(ProxySettings, PooledTunnelsAreNotSharedAcrossCredentials) {
  cr::asio_backend_options o;
  o.tls.ca_file = ct::env("CA_FILE");
  cr::asio_backend b(o);
  auto get = [&](const std::string& proxy_uri) {
    return cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt")))
        .proxy(cr::proxy(proxy_uri))
        .send(b)
        .status();
  };
  EXPECT_EQ(get(tinyproxy(true)), 200);
  // The same proxy and origin with other credentials: a new CONNECT, which the proxy refuses,
  // never the idle tunnel opened with the right ones.
  const std::string wrong = "http://courier:other@127.0.0.1:" + ct::env("TINYPROXY_AUTH_PORT");
  EXPECT_THROW(get(wrong), cr::proxy_error);
  EXPECT_EQ(get(tinyproxy(true)), 200);
}

TEST(ProxySettings, AsyncErrorIsProxyError) {
  std::promise<std::exception_ptr> got;
  cr::basic_request()
      .get(cr::uri(ct::https_url("/small.txt")))
      .proxy(cr::proxy(tinyproxy(false, true)))
      .async_send(backend(), [&](std::exception_ptr e, auto) { got.set_value(e); });
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  auto e = f.get();
  EXPECT_EQ(cr::error_code_of(e), cr::errc::proxy_error);
  EXPECT_THROW(std::rethrow_exception(e), cr::proxy_error);
}

// Host names are matched against subjectAltName only (RFC 9525), for the proxy's certificate
// and for the origin's inside the tunnel alike.
TEST(HttpsProxy, AProxyCertificateWithoutSubjectAltNameIsRefused) {
  const auto line = connect_line("localhost", "NGINX_HTTPS_PORT");
  const int before = log_count("tinyproxy-auth", line);
  const std::string proxy = "https://" + ct::env("PROXY_USER") + ":" + ct::env("PROXY_PASSWORD") +
                            "@localhost:" + ct::env("TINYPROXY_TLS_CNONLY_PORT");
  auto e = expect_error<cr::tls_error>([&] {
    cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt")))
        .proxy(cr::proxy(proxy))
        .send(backend());
  });
  const std::string what = e.what();
  EXPECT_NE(what.find("TLS with the proxy https://courier:***@localhost:" +
                      ct::env("TINYPROXY_TLS_CNONLY_PORT") + " failed"),
            std::string::npos)
      << what;
  EXPECT_NE(what.find("(hostname mismatch): it has no subjectAltName"), std::string::npos) << what;
  EXPECT_EQ(log_count("tinyproxy-auth", line), before) << "no CONNECT may pass the refused TLS";
}

TEST(HttpsProxy, AnOriginCertificateWithoutSubjectAltNameIsRefusedInsideTheTunnel) {
  const auto line = connect_line("localhost", "NGINX_HTTPS_CNONLY_PORT");
  const int before = log_count("tinyproxy-auth", line);
  auto e = expect_error<cr::tls_error>([&] {
    cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt", "NGINX_HTTPS_CNONLY_PORT")))
        .proxy(cr::proxy(tls_tinyproxy()))
        .send(backend());
  });
  const std::string what = e.what();
  EXPECT_NE(what.find("TLS with localhost:" + ct::env("NGINX_HTTPS_CNONLY_PORT") + " failed"),
            std::string::npos)
      << what;
  EXPECT_NE(what.find("(hostname mismatch): it has no subjectAltName"), std::string::npos) << what;
  // The tunnel was made; the origin's certificate was then refused.
  EXPECT_EQ(settled_log_count("tinyproxy-auth", line, before + 1), before + 1);
}
