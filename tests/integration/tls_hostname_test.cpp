// Host names are matched against a certificate's subjectAltName only (RFC 9525; RFC 6125 had
// deprecated the Common Name): a certificate that names the host in its Common Name alone is
// refused, over HTTPS and wss alike.
#include <courier/courier.hpp>

#include "support/expect_error.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>
#include <string>
#include <thread>

namespace cr = courier;
namespace ws = courier::ws;
namespace ct = courier::test;

namespace {

using courier::test::expect_error;

// A path no other test asks for, so that nginx's access log tells whether this one arrived.
std::string unique_path(std::string_view name) {
  static std::mt19937_64 rng(std::random_device{}());
  return "/small.txt?" + std::string(name) + "-" + std::to_string(rng());
}

// How many requests for `path` nginx logged.
int nginx_logged(const std::string& path) {
  std::ifstream log(ct::env("STATE_DIR") + "/nginx/logs/access.log");
  std::string line;
  int n = 0;
  while (std::getline(log, line)) {
    if (line.find(" " + path + " ") != std::string::npos) ++n;
  }
  return n;
}

// nginx logs a request once it has answered it, maybe just after the client has the answer:
// waits (at most 2 s) for the log to show `path` `n` times.
int nginx_logged_eventually(const std::string& path, int n) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int seen = nginx_logged(path);
  while (seen < n && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    seen = nginx_logged(path);
  }
  return seen;
}

std::string cn_only_port() {
  return ct::env("NGINX_HTTPS_CNONLY_PORT");
}

const std::string no_san_reason =
    "certificate verification failed: the certificate is not valid for this host name "
    "(hostname mismatch): it has no subjectAltName, and its Common Name is not used for the "
    "match (RFC 9525)";

}  // namespace

TEST(TlsHostname, CommonNameOnlyCertificateIsRefused) {
  // The certificate is signed by the trusted test CA and its CN is "localhost": only the
  // missing subjectAltName fails it.
  const std::string path = unique_path("cn-only");
  auto msg = expect_error<cr::tls_error>([&] {
    cr::basic_request()
        .get(cr::uri(ct::https_url(path, "NGINX_HTTPS_CNONLY_PORT")))
        .send(ct::test_ca_backend());
  });
  EXPECT_NE(msg.find("TLS with localhost:" + cn_only_port() + " failed: " + no_san_reason),
            std::string::npos)
      << msg;
  EXPECT_EQ(nginx_logged(path), 0) << "no request may go out over an unverified connection";
}

TEST(TlsHostname, SubjectAltNameCertificateIsAccepted) {
  const std::string path = unique_path("san");
  auto res = cr::basic_request().get(cr::uri(ct::https_url(path))).send(ct::test_ca_backend());
  ASSERT_EQ(res.status(), 200) << res.body().error();
  EXPECT_EQ(res.body()->size(), 100u);
  EXPECT_EQ(nginx_logged_eventually(path, 1), 1);
  // The same certificate names 127.0.0.1 as an IP subjectAltName.
  auto by_ip = cr::basic_request()
                   .get(cr::uri("https://127.0.0.1:" + ct::env("NGINX_HTTPS_PORT") + "/small.txt"))
                   .send(ct::test_ca_backend());
  EXPECT_EQ(by_ip.status(), 200);
}

TEST(TlsHostname, WrongSubjectAltNameSaysOnlyThatTheNameDidNotMatch) {
  auto msg = expect_error<cr::tls_error>([] {
    cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt", "NGINX_HTTPS_WRONGHOST_PORT")))
        .send(ct::test_ca_backend());
  });
  EXPECT_NE(msg.find("(hostname mismatch)"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("no subjectAltName"), std::string::npos) << msg;
}

TEST(TlsHostname, CommonNameOnlyCertificateIsRefusedForWss) {
  // nginx speaks no WebSocket, but the handshake fails before any upgrade request is sent.
  const std::string path = unique_path("cn-only-wss");
  auto msg = expect_error<cr::tls_error>([&] {
    cr::basic_request()
        .get(cr::uri("wss://localhost:" + cn_only_port() + path))
        .open_websocket(ct::test_ca_backend(), ws::high_level{});
  });
  EXPECT_NE(msg.find(no_san_reason), std::string::npos) << msg;
  EXPECT_NE(msg.find("localhost:" + cn_only_port()), std::string::npos) << msg;
  EXPECT_EQ(nginx_logged(path), 0);
}

TEST(TlsHostname, SubjectAltNameCertificateIsAcceptedForWss) {
  auto socket = cr::basic_request()
                    .get(cr::uri(ct::wss_url("/echo")))
                    .open_websocket(ct::test_ca_backend(), ws::high_level{})
                    .result;
  socket.send_text("named by subjectAltName");
  EXPECT_EQ(socket.receive_text(), "named by subjectAltName");
  socket.close();
}

TEST(TlsHostname, InsecureModeStillConnectsToACommonNameOnlyCertificate) {
  // Skipping verification skips the name check too: the option keeps meaning what it says.
  cr::asio_backend_options o;
  o.tls.insecure_skip_verify = true;
  cr::asio_backend insecure(o);
  const std::string path = unique_path("cn-only-insecure");
  auto res = cr::basic_request()
                 .get(cr::uri(ct::https_url(path, "NGINX_HTTPS_CNONLY_PORT")))
                 .send(insecure);
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(nginx_logged_eventually(path, 1), 1);
}
