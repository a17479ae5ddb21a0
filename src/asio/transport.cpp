#include "asio/transport.hpp"

#include <courier/error.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <sys/socket.h>

namespace courier::asio_detail {

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

transport::transport(net::any_io_executor ex, std::string origin, std::string host,
                     std::uint16_t port)
    : ex_(std::move(ex)), origin_(std::move(origin)), host_(std::move(host)), port_(port) {
  tcp_.emplace(ex_);
}

transport::~transport() {
  close();
}

tcp::socket& transport::socket() noexcept {
  return *tcp_;
}

std::string transport::endpoint_name() const {
  return host_port(host_, port_);
}

namespace {

std::string describe_tls_failure(SSL* ssl, const boost::system::error_code& ec) {
  if (ssl) {
    long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) {
      std::string why = X509_verify_cert_error_string(result);
      if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        why = "the certificate is not valid for this host name (hostname mismatch)";
      }
      return "certificate verification failed: " + why;
    }
  }
  std::string msg = ec.message();
  if (ec == net::ssl::error::stream_truncated)
    msg = "the peer closed the connection during the handshake";
  return "TLS handshake failed: " + msg;
}

}  // namespace

net::awaitable<void> transport::connect(bool secure, net::ssl::context* tls, bool verify,
                                        clock::time_point until) {
  const std::string where = endpoint_name();
  deadline timer(ex_);
  // Callbacks capture pointers by value, never references to coroutine locals.
  auto resolver = std::make_unique<tcp::resolver>(ex_);
  timer.arm(until, [this, r = resolver.get()] {
    r->cancel();
    boost::system::error_code ignored;
    tcp_->cancel(ignored);
  });
  auto fail_timeout = [&](const char* stage) {
    throw timeout_error("connect timeout: " + std::string(stage) + " " + where +
                        " did not finish in time");
  };

  boost::system::error_code ec;
  auto endpoints = co_await resolver->async_resolve(host_, std::to_string(port_),
                                                    net::redirect_error(net::use_awaitable, ec));
  if (timer.expired()) fail_timeout("resolving");
  if (ec) {
    timer.disarm();
    throw connect_error("cannot resolve host " + where + ": " + ec.message());
  }

  co_await net::async_connect(*tcp_, endpoints, net::redirect_error(net::use_awaitable, ec));
  if (timer.expired()) fail_timeout("connecting to");
  if (ec) {
    timer.disarm();
    throw connect_error("cannot connect to " + where + ": " + ec.message());
  }
  tcp_->set_option(tcp::no_delay(true), ec);

  if (secure) {
    tls_ = std::make_unique<net::ssl::stream<tcp::socket&>>(*tcp_, *tls);
    SSL* ssl = tls_->native_handle();
    boost::system::error_code addr_ec;
    net::ip::make_address(host_, addr_ec);
    const bool is_ip = !addr_ec;
    // SNI is for names only (RFC 6066 forbids IP literals).
    if (!is_ip && !SSL_set_tlsext_host_name(ssl, host_.c_str())) {
      timer.disarm();
      throw tls_error("TLS setup for " + where + " failed: cannot set SNI");
    }
    if (verify) {
      tls_->set_verify_mode(net::ssl::verify_peer);
      // OpenSSL's own name check (RFC 6125), so that a mismatch is reported as one.
      const bool name_set =
          is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str()) == 1
                : SSL_set1_host(ssl, host_.c_str()) == 1;
      if (!name_set) {
        timer.disarm();
        throw tls_error("TLS setup for " + where + " failed: cannot check the host name");
      }
    } else {
      tls_->set_verify_mode(net::ssl::verify_none);
    }
    co_await tls_->async_handshake(net::ssl::stream_base::client,
                                   net::redirect_error(net::use_awaitable, ec));
    if (timer.expired()) fail_timeout("the TLS handshake with");
    if (ec) {
      timer.disarm();
      throw tls_error("TLS with " + where + " failed: " + describe_tls_failure(ssl, ec) +
                      (verify ? " (pass a CA file with tls_options::ca_file if the server uses a "
                                "private CA)"
                              : ""));
    }
  }
  timer.disarm();
}

net::awaitable<std::size_t> transport::write(const std::vector<net::const_buffer>& buffers,
                                             boost::system::error_code& ec) {
  if (tls_) {
    co_return co_await net::async_write(*tls_, buffers,
                                        net::redirect_error(net::use_awaitable, ec));
  }
  co_return co_await net::async_write(*tcp_, buffers, net::redirect_error(net::use_awaitable, ec));
}

net::awaitable<std::size_t> transport::read_some(net::mutable_buffer buffer,
                                                 boost::system::error_code& ec) {
  if (tls_) {
    co_return co_await tls_->async_read_some(buffer, net::redirect_error(net::use_awaitable, ec));
  }
  co_return co_await tcp_->async_read_some(buffer, net::redirect_error(net::use_awaitable, ec));
}

void transport::cancel() noexcept {
  boost::system::error_code ignored;
  if (tcp_) tcp_->cancel(ignored);
}

void transport::close() noexcept {
  boost::system::error_code ignored;
  if (tcp_ && tcp_->is_open()) {
    tcp_->shutdown(tcp::socket::shutdown_both, ignored);
    tcp_->close(ignored);
  }
}

bool transport::is_open() const noexcept {
  return tcp_ && tcp_->is_open();
}

bool transport::looks_dead() const noexcept {
  if (!is_open()) return true;
  char byte;
  // An idle HTTP connection has nothing to read: EOF or stray bytes both mean "do not reuse".
  ssize_t n =
      ::recv(const_cast<tcp::socket&>(*tcp_).native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n > 0) return true;
  return !(errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace courier::asio_detail
