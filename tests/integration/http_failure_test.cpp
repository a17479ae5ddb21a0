// Redirects, timeouts, TLS and bad peers: each failure is a typed error within its timeout.
#include <courier/courier.hpp>

#include "support/expect_error.hpp"
#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>

#include <chrono>

namespace cr = courier;
namespace ct = courier::test;
using namespace std::chrono_literals;

namespace {
cr::asio_backend& backend() {
  return ct::default_backend();
}
cr::asio_backend& tls_backend() {
  return ct::test_ca_backend();
}
template <class F>
std::chrono::milliseconds elapsed(F f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0);
}
using courier::test::expect_error;
}  // namespace

TEST(Redirects, ChainIsFollowedAndRecorded) {
  auto res = cr::basic_request().get(cr::uri(ct::httpbin_url("/redirect/3"))).send(backend());
  EXPECT_EQ(res.status(), 200);
  ASSERT_EQ(res.history().size(), 3u);
  EXPECT_EQ(res.history()[0].head.status, 302);
  EXPECT_EQ(res.uri().path(), "/get");
  EXPECT_EQ(res.request().uri()->path(), "/redirect/3");
}

TEST(Redirects, LimitGivesTooManyRedirects) {
  auto msg = expect_error<cr::too_many_redirects>([] {
    cr::basic_request()
        .max_redirects(2)
        .get(cr::uri(ct::httpbin_url("/redirect/5")))
        .send(backend());
  });
  EXPECT_NE(msg.find("2 redirects"), std::string::npos) << msg;
}

TEST(Redirects, CanBeTurnedOff) {
  auto res = cr::basic_request()
                 .follow_redirects(false)
                 .get(cr::uri(ct::httpbin_url("/redirect/1")))
                 .send(backend());
  EXPECT_EQ(res.status(), 302);
  EXPECT_TRUE(res.history().empty());
  EXPECT_TRUE(res.header("Location").has_value());
}

TEST(Redirects, SeeOtherTurnsPostIntoGet) {
  auto res = cr::basic_request()
                 .body("payload")
                 .post(cr::uri(ct::httpbin_url("/redirect-to")))
                 .query("url", "/get")
                 .query("status_code", "303")
                 .send(backend());
  EXPECT_EQ(res.status(), 200);
  ASSERT_EQ(res.history().size(), 1u);
  EXPECT_EQ(res.history()[0].method, cr::method::post);
  EXPECT_EQ(res.uri().path(), "/get");
}

TEST(Redirects, TemporaryRedirectKeepsMethodAndBody) {
  auto res = cr::basic_request()
                 .body("keep me")
                 .post(cr::uri(ct::httpbin_url("/redirect-to")))
                 .query("url", "/post")
                 .query("status_code", "307")
                 .send(backend());
  ASSERT_EQ(res.status(), 200) << res.body().error();
  EXPECT_NE(res.body()->find("\"data\":\"keep me\""), std::string::npos) << *res.body();
}

TEST(Redirects, CredentialsDroppedWhenTheOriginChanges) {
  // httpbin on 127.0.0.1 redirects to the same server under the name "localhost": another
  // origin, so Authorization and Cookie must not follow.
  auto target = "http://localhost:" + ct::env("HTTPBIN_PORT") + "/headers";
  auto res = cr::basic_request()
                 .header("Authorization", "Bearer secret")
                 .header("Cookie", "session=1")
                 .header("X-Keep", "kept")
                 .get(cr::uri(ct::httpbin_url("/redirect-to")))
                 .query("url", target)
                 .send(backend());
  ASSERT_EQ(res.status(), 200);
  EXPECT_EQ(res.body()->find("secret"), std::string::npos) << *res.body();
  EXPECT_EQ(res.body()->find("session=1"), std::string::npos) << *res.body();
  EXPECT_NE(res.body()->find("kept"), std::string::npos) << *res.body();

  auto same = cr::basic_request()
                  .header("Authorization", "Bearer secret")
                  .get(cr::uri(ct::httpbin_url("/redirect-to")))
                  .query("url", "/headers")
                  .send(backend());
  EXPECT_NE(same.body()->find("secret"), std::string::npos) << "same origin keeps credentials";
}

TEST(Timeouts, ReadTimeoutOnASlowServer) {
  auto took = elapsed([] {
    auto msg = expect_error<cr::timeout_error>([] {
      cr::basic_request()
          .read_timeout(300ms)
          .get(cr::uri(ct::httpbin_url("/delay/5")))
          .send(backend());
    });
    EXPECT_NE(msg.find("127.0.0.1"), std::string::npos) << msg;
  });
  EXPECT_LT(took, 3s);
}

TEST(Timeouts, WholeRequestTimeout) {
  auto took = elapsed([] {
    expect_error<cr::timeout_error>([] {
      cr::basic_request().timeout(400ms).get(cr::uri(ct::httpbin_url("/delay/5"))).send(backend());
    });
  });
  EXPECT_LT(took, 3s);
}

TEST(Timeouts, TheLargestTimeoutsMeanNoLimit) {
  // milliseconds::max() as "never": the deadlines are cut to a century, not overflowed into
  // the past (which would time out at once).
  const auto forever = std::chrono::milliseconds::max();
  const auto req =
      cr::basic_request().read_timeout(forever).timeout(forever).connect_timeout(forever).get(
          cr::uri(ct::httpbin_url("/get")));
  EXPECT_EQ(req.send(backend()).status(), 200);
  EXPECT_EQ(req.async_send(backend(), boost::asio::use_future).get().status(), 200);
  auto streamed = req.response_as(cr::as_stream()).send(backend());
  EXPECT_EQ(streamed.status(), 200);
  EXPECT_FALSE(streamed.body().read_all().empty());
}

TEST(Timeouts, ServerThatNeverAnswers) {
  ct::fault_server server(ct::never_answer());
  auto took = elapsed([&] {
    expect_error<cr::timeout_error>([&] {
      cr::basic_request().read_timeout(300ms).get(cr::uri(server.url("/"))).send(backend());
    });
  });
  EXPECT_LT(took, 3s);
}

namespace {
// A server that reads the request head and then nothing more, and a 64 MiB upload to it (far
// more than the socket buffers hold) with a 300 ms read_timeout.
ct::fault_server::script head_then_stall() {
  return [](ct::connection& c) {
    c.read_request_head();
    c.pause(5s);
  };
}
auto stalled_upload(const ct::fault_server& server) {
  return cr::basic_request()
      .read_timeout(300ms)
      .body(std::string(64 << 20, 'x'))
      .post(cr::uri(server.url("/")));
}
}  // namespace

TEST(Timeouts, UploadToAServerThatStopsReading) {
  // The blocking write waits on the caller's thread, and read_timeout ends the wait.
  ct::fault_server server(head_then_stall());
  const auto req = stalled_upload(server);
  auto took = elapsed([&] {
    auto msg = expect_error<cr::timeout_error>([&] { req.send(backend()); });
    EXPECT_NE(msg.find("write timeout"), std::string::npos) << msg;
  });
  EXPECT_LT(took, 3s);
}

TEST(Timeouts, AsyncUploadToAServerThatStopsReading) {
  // The async form: what the socket takes at once is written without the reactor, and the
  // rest waits there, under the same read_timeout.
  ct::fault_server server(head_then_stall());
  const auto req = stalled_upload(server);
  auto took = elapsed([&] {
    auto fut = req.async_send(backend(), boost::asio::use_future);
    try {
      fut.get();
      ADD_FAILURE() << "no error";
    } catch (const cr::error& e) {
      EXPECT_EQ(e.code(), cr::errc::timeout) << e.what();
    }
  });
  EXPECT_LT(took, 3s);
}

TEST(Connect, RefusedIsAConnectErrorNamingTheEndpoint) {
  auto msg = expect_error<cr::connect_error>(
      [] { cr::basic_request().get(cr::uri("http://127.0.0.1:1/")).send(backend()); });
  EXPECT_NE(msg.find("127.0.0.1:1"), std::string::npos) << msg;
}

TEST(Connect, UnknownHostIsAConnectError) {
  expect_error<cr::connect_error>([] {
    cr::basic_request()
        .connect_timeout(3s)
        .get(cr::uri("http://no-such-host.invalid/"))
        .send(backend());
  });
}

TEST(BadPeers, GarbageIsAProtocolError) {
  ct::fault_server server(ct::respond_raw("this is not HTTP at all\r\n\r\n"));
  expect_error<cr::protocol_error>(
      [&] { cr::basic_request().read_timeout(2s).get(cr::uri(server.url("/"))).send(backend()); });
}

TEST(BadPeers, CloseMidBodyIsAReadError) {
  ct::fault_server server(ct::close_mid_body(1000, 300));
  auto msg = expect_error<cr::read_error>(
      [&] { cr::basic_request().read_timeout(2s).get(cr::uri(server.url("/"))).send(backend()); });
  EXPECT_NE(msg.find("127.0.0.1"), std::string::npos) << msg;
}

TEST(BadPeers, OversizeBodyIsBounded) {
  auto msg = expect_error<cr::body_too_large>([] {
    cr::basic_request()
        .max_body_size(1000)
        .get(cr::uri(ct::http_url("/large.bin")))
        .send(backend());
  });
  EXPECT_NE(msg.find("max_body_size"), std::string::npos) << msg;
}

TEST(BadInput, RejectedBeforeSending) {
  EXPECT_THROW(cr::basic_request().header("X", "a\r\nInjected: 1"), cr::invalid_header);
  EXPECT_THROW(cr::uri("http://exa mple/"), cr::invalid_uri);
  EXPECT_THROW(cr::basic_request().send(backend()), cr::invalid_request);
  EXPECT_THROW(cr::basic_request().get(cr::uri("ftp://127.0.0.1/")).send(backend()),
               cr::invalid_request);
}

TEST(Tls, VerifiedWithTheTestCa) {
  auto res = cr::basic_request().get(cr::uri(ct::https_url("/small.txt"))).send(tls_backend());
  EXPECT_EQ(res.status(), 200);
  EXPECT_EQ(res.body()->size(), 100u);
}

TEST(Tls, UntrustedCaIsATlsError) {
  // The default backend trusts only the system store, which does not know the test CA.
  auto msg = expect_error<cr::tls_error>(
      [] { cr::basic_request().get(cr::uri(ct::https_url("/small.txt"))).send(backend()); });
  EXPECT_NE(msg.find("certificate"), std::string::npos) << msg;
  expect_error<cr::tls_error>([] {
    cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt", "NGINX_HTTPS_UNTRUSTED_PORT")))
        .send(tls_backend());
  });
}

TEST(Tls, ExpiredCertificateIsATlsError) {
  auto msg = expect_error<cr::tls_error>([] {
    cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt", "NGINX_HTTPS_EXPIRED_PORT")))
        .send(tls_backend());
  });
  EXPECT_NE(msg.find("expired"), std::string::npos) << msg;
}

TEST(Tls, WrongHostnameIsATlsError) {
  auto msg = expect_error<cr::tls_error>([] {
    cr::basic_request()
        .get(cr::uri(ct::https_url("/small.txt", "NGINX_HTTPS_WRONGHOST_PORT")))
        .send(tls_backend());
  });
  EXPECT_NE(msg.find("hostname mismatch"), std::string::npos) << msg;
}

TEST(Tls, MissingCertificateFilesFailWhenTheBackendIsMade) {
  // The TLS context of a backend without files is made on first use; one with files is made
  // at once, so that a bad path is reported where it was given.
  cr::asio_backend_options bad_ca;
  bad_ca.tls.ca_file = "/nonexistent/courier-ca.pem";
  auto msg = expect_error<cr::tls_error>([&] { cr::asio_backend b(bad_ca); });
  EXPECT_NE(msg.find("CA file"), std::string::npos) << msg;
  cr::asio_backend_options bad_cert;
  bad_cert.tls.client_cert_file = "/nonexistent/courier-client.pem";
  msg = expect_error<cr::tls_error>([&] { cr::asio_backend b(bad_cert); });
  EXPECT_NE(msg.find("client certificate"), std::string::npos) << msg;
  // Without files the context waits for the first https request.
  cr::asio_backend_options no_files;
  no_files.tls.insecure_skip_verify = true;  // the test CA is not in the system store
  cr::asio_backend lazy(no_files);
  EXPECT_EQ(cr::basic_request().get(cr::uri(ct::http_url("/small.txt"))).send(lazy).status(), 200);
  EXPECT_EQ(cr::basic_request().get(cr::uri(ct::https_url("/small.txt"))).send(lazy).status(), 200);
}

TEST(Tls, InsecureOptionSkipsVerification) {
  cr::asio_backend_options o;
  o.tls.insecure_skip_verify = true;
  cr::asio_backend insecure(o);
  auto res = cr::basic_request()
                 .get(cr::uri(ct::https_url("/small.txt", "NGINX_HTTPS_EXPIRED_PORT")))
                 .send(insecure);
  EXPECT_EQ(res.status(), 200);
}
