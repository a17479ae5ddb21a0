#include "asio/connection/transport.hpp"
#include "core/hot_path.hpp"

#include <courier/error.hpp>
#include <courier/request.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/container/small_vector.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <limits>
#include <mutex>
#include <utility>

namespace courier::asio_detail {

// The connections lent to one io_context (transport::lend_to). It outlives the context: a
// connection still names it after the context took its socket back.
struct lent_registry {
  std::mutex mutex;
  std::atomic<bool> alive{true};
  std::vector<transport*> lent;

  void shut_down() noexcept {
    std::lock_guard lock(mutex);
    alive.store(false, std::memory_order_release);
    for (transport* t : lent)
      t->give_back_guest();
    lent.clear();
  }
};

namespace {

// Kept by every io_context that connections are lent to: when the context is destroyed, the
// connections on its reactor (idle in the pool, most of them) take their sockets back before
// the reactor goes. It is made after the socket service, so it shuts down before it.
class lent_connections final : public net::execution_context::service {
 public:
  using key_type = lent_connections;
  static inline net::execution_context::id id;
  explicit lent_connections(net::execution_context& ctx) : service(ctx) {}
  std::shared_ptr<lent_registry> registry() const { return registry_; }

 private:
  void shutdown() override { registry_->shut_down(); }
  std::shared_ptr<lent_registry> registry_ = std::make_shared<lent_registry>();
};

}  // namespace

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

transport::transport(net::any_io_executor ex, std::string origin, std::string host,
                     std::uint16_t port)
    : ex_(std::move(ex)),
      origin_(std::move(origin)),
      host_(std::move(host)),
      name_(host_port(host_, port)),
      port_(port),
      pool_key_(origin_) {
  tcp_.emplace(ex_);
}

transport::~transport() {
  close();
}

tcp::socket& transport::socket() {
  attach_to_reactor();
  return *tcp_;
}

COURIER_HOT void transport::detach_from_reactor() noexcept {
  if (guest_registry_) settle();
  if (detached_fd_ >= 0 || !tcp_ || !tcp_->is_open()) return;
  boost::system::error_code ec;
  auto local = tcp_->local_endpoint(ec);
  detached_v6_ = !ec && local.address().is_v6();
  const int fd = tcp_->release(ec);
  if (ec) return;
  detached_fd_ = fd;
  // Blocking reads wait in recv() itself; Asio makes the socket non-blocking again once it is
  // handed back and used for an async operation.
  const int flags = ::fcntl(fd, F_GETFL);
  blocking_ = flags >= 0 && ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0;
}

void transport::attach_to_reactor() {
  if (guest_registry_) settle();
  if (detached_fd_ < 0) return;
  const int fd = std::exchange(detached_fd_, -1);
  blocking_ = false;
  boost::system::error_code ec;
  tcp_->assign(detached_v6_ ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    throw read_error("cannot hand the connection to " + endpoint_name() +
                     " back to the I/O thread: " + ec.message());
  }
}

namespace {

// Whether the server's certificate names any subjectAltName; true when it cannot be told. The
// chain the server sent is kept even when verification failed.
bool has_subject_alt_name(SSL* ssl) {
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (!chain || sk_X509_num(chain) == 0) return true;
  return X509_get_ext_by_NID(sk_X509_value(chain, 0), NID_subject_alt_name, -1) >= 0;
}

std::string describe_tls_failure(SSL* ssl, const boost::system::error_code& ec) {
  if (ssl) {
    long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) {
      std::string why = X509_verify_cert_error_string(result);
      if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        why = "the certificate is not valid for this host name (hostname mismatch)";
        if (!has_subject_alt_name(ssl)) {
          why +=
              ": it has no subjectAltName, and its Common Name is not used for the match "
              "(RFC 9525)";
        }
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

void transport::use_proxy(courier::proxy via, bool tunnel_plain) {
  proxy_ = std::move(via);
  const bool secure = origin_.starts_with("https:") || origin_.starts_with("wss:");
  tunnel_ = proxy_->is_socks() || secure || tunnel_plain;
  pool_key_ = make_pool_key(origin_, proxy_, tunnel_plain);
}

std::string transport::make_pool_key(std::string origin, const std::optional<courier::proxy>& via,
                                     bool tunnel_plain) {
  if (!via) return origin;
  const bool secure = origin.starts_with("https:") || origin.starts_with("wss:");
  const bool tunnel = via->is_socks() || secure || tunnel_plain;
  return origin + " via " + via->redacted() + (tunnel ? " (tunnel)" : "") +
         credentials_digest(*via);
}

std::string transport::proxy_authorization() const {
  if (!proxy_ || !proxy_->has_credentials()) return {};
  return courier::detail::basic_credentials(proxy_->username(), proxy_->password());
}

std::string credentials_digest(const courier::proxy& p) {
  if (!p.has_credentials()) return {};
  std::string material = p.username();
  material += '\0';
  material += p.password();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(material.data(), material.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = " #";
  for (unsigned i = 0; i < 6 && i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

namespace {

// SNI and name verification for a TLS layer over any stream, then the handshake.
template <class Stream>
net::awaitable<void> tls_handshake(Stream& stream, const std::string& name, bool verify,
                                   const std::string& where, boost::system::error_code& ec) {
  SSL* ssl = stream.native_handle();
  boost::system::error_code addr_ec;
  net::ip::make_address(name, addr_ec);
  const bool is_ip = !addr_ec;
  // SNI is for names only (RFC 6066 forbids IP literals).
  if (!is_ip && !SSL_set_tlsext_host_name(ssl, name.c_str())) {
    throw tls_error("TLS setup for " + where + " failed: cannot set SNI");
  }
  if (verify) {
    stream.set_verify_mode(net::ssl::verify_peer);
    // OpenSSL's own name check (RFC 6125), so that a mismatch is reported as one. Names come
    // from subjectAltName only: OpenSSL would fall back to the subject's Common Name when a
    // certificate has none, a last resort RFC 6125 deprecated, RFC 9525 removed and browsers
    // no longer take.
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    const bool name_set =
        is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1
              : SSL_set1_host(ssl, name.c_str()) == 1;
    if (!name_set)
      throw tls_error("TLS setup for " + where + " failed: cannot check the host name");
  } else {
    stream.set_verify_mode(net::ssl::verify_none);
  }
  co_await stream.async_handshake(net::ssl::stream_base::client,
                                  net::redirect_error(net::use_awaitable, ec));
}

// ALPN (RFC 7301): what the client offers, and what the server chose.
void offer_alpn_on(SSL* ssl, const std::string& wire, const std::string& where) {
  if (wire.empty()) return;
  if (SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size())) != 0) {
    throw tls_error("TLS setup for " + where + " failed: cannot offer ALPN protocols");
  }
}
std::string alpn_selected_on(SSL* ssl) {
  const unsigned char* name = nullptr;
  unsigned size = 0;
  SSL_get0_alpn_selected(ssl, &name, &size);
  return name ? std::string(reinterpret_cast<const char*>(name), size) : std::string();
}

}  // namespace

net::awaitable<void> transport::connect_tcp(const std::string& host, std::uint16_t port,
                                            const std::string& what, deadline& timer,
                                            clock::time_point until) {
  auto resolver = std::make_unique<tcp::resolver>(ex_);
  // Callbacks capture pointers by value, never references to coroutine locals.
  timer.arm(until, [this, r = resolver.get()] {
    r->cancel();
    boost::system::error_code ignored;
    tcp_->cancel(ignored);
  });
  boost::system::error_code ec;
  auto endpoints = co_await resolver->async_resolve(host, std::to_string(port),
                                                    net::redirect_error(net::use_awaitable, ec));
  if (timer.expired()) {
    throw timeout_error("connect timeout: resolving " + what + " did not finish in time");
  }
  if (ec) throw connect_error("cannot resolve " + what + ": " + ec.message());
  co_await net::async_connect(*tcp_, endpoints, net::redirect_error(net::use_awaitable, ec));
  if (timer.expired()) {
    throw timeout_error("connect timeout: connecting to " + what + " did not finish in time");
  }
  if (ec) throw connect_error("cannot connect to " + what + ": " + ec.message());
  tcp_->set_option(tcp::no_delay(true), ec);
  // From here on the deadline cancels the socket, which aborts every layer above it.
  timer.arm(until, [this] {
    boost::system::error_code ignored;
    tcp_->cancel(ignored);
  });
}

net::awaitable<void> transport::connect(bool secure, const std::function<net::ssl::context&()>& tls,
                                        bool verify, clock::time_point until) {
  const std::string where = endpoint_name();
  deadline timer(ex_);
  const std::string proxy_name = proxy_ ? "proxy " + proxy_->redacted() : std::string();
  try {
    if (proxy_) {
      co_await connect_tcp(proxy_->host(), proxy_->port(), "the " + proxy_name, timer, until);
      if (proxy_->type() == courier::proxy::kind::https) {
        tls_ = std::make_unique<net::ssl::stream<tcp::socket&>>(*tcp_, tls());
        boost::system::error_code ec;
        co_await tls_handshake(*tls_, proxy_->host(), verify, "the " + proxy_name, ec);
        if (timer.expired()) {
          throw timeout_error("connect timeout: the TLS handshake with the " + proxy_name +
                              " did not finish in time");
        }
        if (ec) {
          throw tls_error("TLS with the " + proxy_name +
                          " failed: " + describe_tls_failure(tls_->native_handle(), ec));
        }
      }
      if (proxy_->is_socks()) {
        co_await socks5_handshake(where, until);
      } else if (tunnel_) {
        co_await http_connect_handshake(where);
      }
    } else {
      co_await connect_tcp(host_, port_, "host " + where, timer, until);
    }

    if (secure) {
      boost::system::error_code ec;
      SSL* ssl = nullptr;
      if (tls_) {  // TLS to an https:// proxy carries TLS to the origin
        inner_tls_ =
            std::make_unique<net::ssl::stream<net::ssl::stream<tcp::socket&>&>>(*tls_, tls());
        ssl = inner_tls_->native_handle();
        offer_alpn_on(ssl, alpn_offer_, where);
        co_await tls_handshake(*inner_tls_, host_, verify, where, ec);
      } else {
        tls_ = std::make_unique<net::ssl::stream<tcp::socket&>>(*tcp_, tls());
        ssl = tls_->native_handle();
        offer_alpn_on(ssl, alpn_offer_, where);
        co_await tls_handshake(*tls_, host_, verify, where, ec);
      }
      if (!ec) alpn_selected_ = alpn_selected_on(ssl);
      // HTTP/2 over TLS 1.2 must not renegotiate (RFC 9113 9.2.1): a server's request to is
      // answered with a no_renegotiation alert.
      if (!ec && alpn_selected_ == "h2") SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
      if (timer.expired()) {
        throw timeout_error("connect timeout: the TLS handshake with " + where +
                            " did not finish in time");
      }
      if (ec) {
        throw tls_error("TLS with " + where + " failed: " + describe_tls_failure(ssl, ec) +
                        (verify ? " (pass a CA file with tls_options::ca_file if the server uses "
                                  "a private CA)"
                                : ""));
      }
    }
  } catch (const timeout_error&) {
    throw;
  } catch (const courier::error&) {
    // A handshake step that failed because the deadline cancelled it is a timeout.
    if (timer.expired()) {
      throw timeout_error(
          "connect timeout: " +
          (proxy_ ? "the handshake with the " + proxy_name : "connecting to " + where) +
          " did not finish in time");
    }
    throw;
  }
  timer.disarm();
}

net::awaitable<std::size_t> transport::write(const std::vector<net::const_buffer>& buffers,
                                             boost::system::error_code& ec) {
  if (inner_tls_) {
    co_return co_await net::async_write(*inner_tls_, buffers,
                                        net::redirect_error(net::use_awaitable, ec));
  }
  if (tls_) {
    co_return co_await net::async_write(*tls_, buffers,
                                        net::redirect_error(net::use_awaitable, ec));
  }
  // Plain sockets get the whole buffer in each write_some: Asio's default gives 64 KiB at a
  // time, so a 1 MiB WebSocket message cost 16 sendmsg where the kernel takes it in one or two.
  const auto whole = [](const boost::system::error_code& e, std::size_t) -> std::size_t {
    return e ? 0 : std::numeric_limits<std::size_t>::max();
  };
  if (guest_) {
    co_return co_await net::async_write(*guest_, buffers, whole,
                                        net::redirect_error(net::use_awaitable, ec));
  }
  attach_to_reactor();
  co_return co_await net::async_write(*tcp_, buffers, whole,
                                      net::redirect_error(net::use_awaitable, ec));
}

net::awaitable<std::size_t> transport::read_some(net::mutable_buffer buffer,
                                                 boost::system::error_code& ec) {
  if (inner_tls_) {
    co_return co_await inner_tls_->async_read_some(buffer,
                                                   net::redirect_error(net::use_awaitable, ec));
  }
  if (tls_) {
    co_return co_await tls_->async_read_some(buffer, net::redirect_error(net::use_awaitable, ec));
  }
  if (guest_) {
    co_return co_await guest_->async_read_some(buffer, net::redirect_error(net::use_awaitable, ec));
  }
  attach_to_reactor();
  co_return co_await tcp_->async_read_some(buffer, net::redirect_error(net::use_awaitable, ec));
}

std::size_t transport::read_buffered(net::mutable_buffer buffer) noexcept {
  if (!tls_ || inner_tls_ || buffer.size() == 0) return 0;
  // Asio's TLS stream keeps no state of its own between reads beyond the SSL object and its
  // memory BIOs: a read here leaves it where its next async read expects it. When no whole
  // record is buffered, SSL_read asks for input and returns without consuming it. Output a
  // read might make (an alert) stays in the BIO, and leaves with the stream's next write.
  SSL* ssl = tls_->native_handle();
  ::ERR_clear_error();
  const int n = ::SSL_read(ssl, buffer.data(),
                           static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX)));
  if (n > 0) return static_cast<std::size_t>(n);
  // A close_notify or a failure is left for the next async read to report, as it would.
  ::ERR_clear_error();
  return 0;
}

namespace {

// One recv(): the bytes read; or 0 with ec set (eof, a failure); or 0 with ec clear when it
// would block or was interrupted, and the caller waits or tries again.
COURIER_HOT std::size_t receive_once(int fd, net::mutable_buffer buffer, int flags,
                                     boost::system::error_code& ec) {
  const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), flags);
  if (n > 0) return static_cast<std::size_t>(n);
  if (n == 0) {
    ec = net::error::eof;
  } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
    ec.assign(errno, boost::system::system_category());
  }
  return 0;
}

// Waits until `fd` is ready for `events` or `until` passes; false on timeout.
bool wait_ready(int fd, short events, clock::time_point until, boost::system::error_code& ec) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - clock::now()).count();
    if (left <= 0) {
      ec = net::error::timed_out;
      return false;
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) {
      ec.assign(errno, boost::system::system_category());
      return false;
    }
  }
}

}  // namespace

namespace {

// sendmsg() of all of `buffers` on `fd`, without blocking. With a `limit`, a full socket is
// waited for with poll() (ec = timed_out past it); without, what did not fit is left.
COURIER_HOT std::size_t send_buffers(int fd, std::span<const net::const_buffer> buffers,
                                     const wait_limit* limit, boost::system::error_code& ec) {
  std::optional<clock::time_point> until;  // set when the socket is first full
  ec.clear();
  boost::container::small_vector<iovec, 8> iov;  // a request head and a body piece or two
  iov.reserve(buffers.size());
  std::size_t total = 0;
  for (const auto& b : buffers) {
    if (b.size() == 0) continue;
    iov.push_back(iovec{const_cast<void*>(b.data()), b.size()});
    total += b.size();
  }
  std::size_t written = 0, first = 0;
  while (written < total) {
    msghdr msg{};
    msg.msg_iov = iov.data() + first;
    msg.msg_iovlen = std::min<std::size_t>(iov.size() - first, IOV_MAX);
    const ssize_t n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!limit) return written;
        if (!until) until = limit->until();
        if (!wait_ready(fd, POLLOUT, *until, ec)) return written;
        continue;
      }
      ec.assign(errno, boost::system::system_category());
      return written;
    }
    written += static_cast<std::size_t>(n);
    // Drop what was sent from the front of the vector.
    for (std::size_t sent = static_cast<std::size_t>(n); sent > 0;) {
      if (sent >= iov[first].iov_len) {
        sent -= iov[first].iov_len;
        ++first;
      } else {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + sent;
        iov[first].iov_len -= sent;
        sent = 0;
      }
    }
  }
  return written;
}

}  // namespace

COURIER_HOT std::size_t transport::write_here(std::span<const net::const_buffer> buffers,
                                              const wait_limit& limit,
                                              boost::system::error_code& ec) {
  detach_from_reactor();
  return send_buffers(native_fd(), buffers, &limit, ec);
}

std::size_t transport::write_now(std::span<const net::const_buffer> buffers,
                                 boost::system::error_code& ec) {
  ec.clear();
  const int fd = native_fd();
  if (!is_plain() || fd < 0) return 0;
  return send_buffers(fd, buffers, nullptr, ec);
}

std::size_t transport::try_write_now(std::string_view bytes, boost::system::error_code& ec) {
  ec.clear();
  const int fd = native_fd();
  if (!is_plain() || fd < 0 || bytes.empty()) return 0;
  for (;;) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec.assign(errno, boost::system::system_category());
    return 0;
  }
}

COURIER_HOT std::size_t transport::read_some_here(net::mutable_buffer buffer,
                                                  const wait_limit& limit,
                                                  boost::system::error_code& ec) {
  ec.clear();
  if (buffer.size() == 0) return 0;
  detach_from_reactor();
  const int fd = native_fd();
  if (!blocking_) return read_some_nonblocking(fd, buffer, limit, ec);
  // A blocking recv(), one syscall per read, bounded by the read watchdog: it shuts the socket
  // down if the deadline passes first. (Both clocks count from boot: CLOCK_MONOTONIC.)
  auto deadline = after(coarse_clock::now(), limit.per_op);
  if (limit.overall) {
    deadline = std::min(deadline, coarse_clock::time_point(limit.overall->time_since_epoch()));
  }
  for (;;) {
    if (deadline <= coarse_clock::now()) {
      ec = net::error::timed_out;
      return 0;
    }
    read_watch_.arm(fd, deadline);
    const std::size_t n = receive_once(fd, buffer, 0, ec);
    const int recv_errno = errno;
    if (read_watch_.disarm()) {
      ec = net::error::timed_out;  // the watchdog shut the socket down: it is done for
      return 0;
    }
    if (n > 0 || ec) return n;
    if (recv_errno != EINTR) {
      ec.assign(recv_errno, boost::system::system_category());
      return 0;
    }
  }
}

// read_some_here on a socket that stayed non-blocking: a poll() bounded by the deadline.
std::size_t transport::read_some_nonblocking(int fd, net::mutable_buffer buffer,
                                             const wait_limit& limit,
                                             boost::system::error_code& ec) {
  for (;;) {
    const std::size_t n = receive_once(fd, buffer, MSG_DONTWAIT, ec);
    if (n > 0 || ec) return n;
    if (errno != EINTR && !wait_ready(fd, POLLIN, limit.until(), ec)) return 0;
  }
}

int transport::fd_for_caller_reads(bool detach) noexcept {
  if (!is_plain()) return -1;
  if (detach) detach_from_reactor();
  return native_fd();
}

void transport::shut_down() noexcept {
  const int fd = native_fd();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

std::size_t read_blocking(int fd, net::mutable_buffer buffer, boost::system::error_code& ec,
                          std::optional<std::chrono::steady_clock::time_point> deadline) {
  ec.clear();
  if (buffer.size() == 0) return 0;
  for (;;) {
    // With a deadline, the socket is only read once poll() says it is readable (or with
    // MSG_DONTWAIT), so that the read cannot block past it.
    const std::size_t n = receive_once(fd, buffer, deadline ? MSG_DONTWAIT : 0, ec);
    if (n > 0 || ec) return n;
    // Interrupted, or non-blocking (an async write took the socket meanwhile, or a deadline):
    // wait for input.
    int wait_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return 0;
      wait_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30));
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) < 0 && errno != EINTR) {
      ec.assign(errno, boost::system::system_category());
      return 0;
    }
  }
}

std::size_t write_nonblocking(int fd, std::span<const net::const_buffer> buffers,
                              boost::system::error_code& ec) {
  return send_buffers(fd, buffers, nullptr, ec);
}

bool transport::lend_to(const net::any_io_executor& ex) {
  if (!is_plain()) return false;
  net::execution_context& ctx = net::query(ex, net::execution::context);
  // Still on that context's reactor from an earlier request: nothing to do. (A context made
  // where a destroyed one was has another registry; the old one is no longer alive.)
  if (guest_ctx_ == &ctx && guest_registry_->alive.load(std::memory_order_acquire)) {
    return guest_.has_value();
  }
  settle();
  detach_from_reactor();
  if (detached_fd_ < 0) return false;
  guest_.emplace(ex);
  boost::system::error_code ec;
  guest_->assign(detached_v6_ ? tcp::v6() : tcp::v4(), detached_fd_, ec);
  if (ec) {
    guest_.reset();
    return false;
  }
  detached_fd_ = -1;
  blocking_ = false;  // Asio makes it non-blocking for its own operations
  // After the socket: the service must be newer than the context's reactor.
  auto registry = net::use_service<lent_connections>(ctx).registry();
  {
    std::lock_guard lock(registry->mutex);
    registry->lent.push_back(this);
  }
  guest_ctx_ = &ctx;
  guest_registry_ = std::move(registry);
  return true;
}

void transport::give_back_guest() noexcept {
  if (!guest_) return;
  boost::system::error_code ec;
  const int fd = guest_->is_open() ? guest_->release(ec) : -1;
  guest_.reset();
  if (!ec && fd >= 0) detached_fd_ = fd;
}

void transport::settle() noexcept {
  if (!guest_registry_) return;
  const auto registry = std::move(guest_registry_);
  guest_registry_.reset();
  guest_ctx_ = nullptr;
  std::lock_guard lock(registry->mutex);
  std::erase(registry->lent, this);
  give_back_guest();
}

int transport::guarded_fd() const noexcept {
  if (!guest_registry_) return native_fd();
  std::lock_guard lock(guest_registry_->mutex);
  return native_fd();
}

net::awaitable<std::size_t> transport::read_some_within(net::mutable_buffer buffer,
                                                        const wait_limit& limit,
                                                        boost::system::error_code& ec) {
  ec.clear();
  if (!is_plain()) co_return co_await read_some(buffer, ec);
  if (!guest_) attach_to_reactor();
  tcp::socket& s = guest_ ? *guest_ : *tcp_;
  auto until = after(coarse_clock::now(), limit.per_op);
  if (limit.overall) {
    until = std::min(until, coarse_clock::time_point(limit.overall->time_since_epoch()));
  }
  read_watch_.arm(s.native_handle(), until);
  const std::size_t n =
      co_await s.async_read_some(buffer, net::redirect_error(net::use_awaitable, ec));
  if (read_watch_.disarm()) {
    ec = net::error::timed_out;  // the watchdog shut the socket down: it is done for
    co_return 0;
  }
  co_return n;
}

void transport::cancel() noexcept {
  boost::system::error_code ignored;
  if (guest_) guest_->cancel(ignored);
  if (tcp_) tcp_->cancel(ignored);
}

void transport::close() noexcept {
  settle();  // the socket leaves the borrowing context's reactor, then closes below
  boost::system::error_code ignored;
  if (detached_fd_ >= 0) {
    ::shutdown(detached_fd_, SHUT_RDWR);
    ::close(std::exchange(detached_fd_, -1));
  }
  if (tcp_ && tcp_->is_open()) {
    tcp_->shutdown(tcp::socket::shutdown_both, ignored);
    tcp_->close(ignored);
  }
}

COURIER_HOT int transport::native_fd() const noexcept {
  if (detached_fd_ >= 0) return detached_fd_;
  if (guest_ && guest_->is_open()) return const_cast<tcp::socket&>(*guest_).native_handle();
  return tcp_ && tcp_->is_open() ? const_cast<tcp::socket&>(*tcp_).native_handle() : -1;
}

COURIER_HOT bool transport::is_open() const noexcept {
  return native_fd() >= 0;
}

bool transport::looks_dead() const noexcept {
  const int fd = guarded_fd();  // idle in the pool: its context may be going away
  if (fd < 0) return true;
  char byte;
  // An idle HTTP connection has nothing to read: EOF or stray bytes both mean "do not reuse".
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n > 0) return true;
  return !(errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace courier::asio_detail
