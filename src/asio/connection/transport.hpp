// A connection to one origin: TCP, or TLS over TCP. Knows how to connect within a deadline
// and turns every failure into a courier error that names the host, port and cause.
#pragma once

#include "asio/connection/byte_stream.hpp"
#include "asio/connection/coarse_clock.hpp"
#include "asio/connection/read_watchdog.hpp"
#include "proto/http1/response_parser.hpp"

#include <courier/proxy.hpp>
#include <courier/uri.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>

namespace courier::asio_detail {

struct pool_slot;  // connection_pool.hpp

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

/// Waits longer than this are cut to it: a timeout of milliseconds::max() (meaning "never")
/// would overflow the clocks' nanoseconds.
inline constexpr std::chrono::milliseconds longest_wait = std::chrono::hours(24 * 365 * 100);

/// `d` after `t`, however large `d` is.
template <class TimePoint>
TimePoint after(TimePoint t, std::chrono::milliseconds d) {
  return t + std::min(d, longest_wait);
}

/// How long a blocking call may wait for one read or write: `per_op` from when the wait
/// starts, never past `overall`. Without an overall deadline the clock is not read at all
/// unless a wait happens: a keep-alive request would otherwise read it on every write and read.
struct wait_limit {
  std::chrono::milliseconds per_op{0};
  std::optional<clock::time_point> overall;
  /// The deadline of a wait that starts now.
  clock::time_point until() const {
    const auto t = after(clock::now(), per_op);
    return overall ? std::min(t, *overall) : t;
  }
};

/// Runs a callback (which cancels or closes a socket) when a point in time passes, and
/// remembers that it did, so that the resulting operation_aborted is reported as a timeout.
/// Safe against the race where the timer fires just as it is disarmed: a stale expiry is
/// ignored through a generation count.
class deadline {
 public:
  explicit deadline(const net::any_io_executor& ex) : timer_(ex) {}
  ~deadline() { disarm(); }
  deadline(const deadline&) = delete;
  deadline& operator=(const deadline&) = delete;

  template <class F>
  void arm(clock::time_point when, F on_expire) {
    auto gen = ++state_->generation;
    state_->expired = false;
    state_->on_expire = std::move(on_expire);
    timer_.expires_at(when);
    timer_.async_wait([s = state_, gen](boost::system::error_code ec) {
      if (ec || s->generation != gen || !s->on_expire) return;
      s->expired = true;
      auto f = std::move(s->on_expire);
      s->on_expire = nullptr;
      f();
    });
  }
  void disarm() {
    ++state_->generation;
    state_->on_expire = nullptr;
    timer_.cancel();
  }
  bool expired() const noexcept { return state_->expired; }

 private:
  struct state {
    std::uint64_t generation = 0;
    bool expired = false;
    std::function<void()> on_expire;
  };
  std::shared_ptr<state> state_ = std::make_shared<state>();
  net::steady_timer timer_;
};

/// A connection to one origin: direct, or through a proxy (an HTTP proxy that forwards
/// requests or opens a CONNECT tunnel, possibly over TLS to the proxy itself; or SOCKS5). When
/// the origin is https/wss, TLS to the origin runs inside the tunnel (TLS in TLS through an
/// https:// proxy).
class transport : public byte_stream {
 public:
  transport(net::any_io_executor ex, std::string origin, std::string host, std::uint16_t port);
  ~transport() override;

  /// Reach the origin through `via` (call before connect()). `tunnel_plain`: for a plain
  /// (http/ws) origin through an HTTP proxy, open a CONNECT tunnel instead of forwarding
  /// absolute-form requests (WebSockets need the tunnel).
  void use_proxy(courier::proxy via, bool tunnel_plain);

  /// Resolves, connects, runs the proxy handshake if any and (for https/wss) the TLS handshake
  /// with the origin, all before `until`. Throws connect_error, tls_error, timeout_error,
  /// proxy_error or protocol_error (a proxy answering garbage). Messages never hold proxy
  /// credentials.
  net::awaitable<void> connect(bool secure, const std::function<net::ssl::context&()>& tls,
                               bool verify, clock::time_point until);

  /// Writes all of the buffers. Throws write_error / timeout_error (reported by the caller).
  net::awaitable<std::size_t> write(const std::vector<net::const_buffer>& buffers,
                                    boost::system::error_code& ec) override;
  net::awaitable<std::size_t> read_some(net::mutable_buffer buffer,
                                        boost::system::error_code& ec) override;

  /// Over TLS to the origin: the plaintext of records already received, without touching the
  /// socket; 0 when no whole record is left (or the connection is not TLS). A server that
  /// writes each response in a record of its own fills one socket read with many records;
  /// read_some hands over one per call, each call a pass through the executor's queue, and a
  /// reader that takes them all at once handles them together.
  std::size_t read_buffered(net::mutable_buffer buffer) noexcept;

  bool supports_caller_reads() const noexcept override { return is_plain(); }
  int fd_for_caller_reads(bool detach) noexcept override;
  void attach_for_async() override { attach_to_reactor(); }
  void shut_down() noexcept override;
  /// For a plain connection, one non-blocking send(); 0 through TLS.
  std::size_t try_write_now(std::string_view bytes, boost::system::error_code& ec) override;
  /// For an async exchange that runs on another io_context (a coroutine's own): moves a plain
  /// connection's socket onto that context's reactor, so that its reads and writes complete
  /// there with no thread hop. False (nothing changes) through TLS. The socket stays there
  /// while the connection is idle in the pool, so the next request from the same context
  /// costs no registration (two epoll_ctl and an ioctl); settle() ends it, and so does the
  /// context's destruction (lent_connections, in transport.cpp).
  bool lend_to(const net::any_io_executor& ex);
  /// Takes the socket back from the borrowing context (it stays detached until next used).
  /// Any thread may call it while it owns the connection.
  void settle() noexcept;
  /// A read for an async exchange on a plain connection (read_some otherwise), bounded by
  /// `limit` through the read watchdog instead of a timer: a timer per read costs a
  /// timerfd_settime. Past the limit the socket is shut down and ec = timed_out.
  net::awaitable<std::size_t> read_some_within(net::mutable_buffer buffer, const wait_limit& limit,
                                               boost::system::error_code& ec);
  /// True for a connection with no TLS layer, whose bytes a blocking call can move itself.
  bool is_plain() const noexcept { return !tls_ && !inner_tls_; }
  /// For a blocking call on a plain connection: writes all of the buffers from the calling
  /// thread, waiting with poll() when the socket is full, never past `until` (then ec =
  /// timed_out). No thread of the backend is involved, so a small request costs one syscall.
  std::size_t write_here(std::span<const net::const_buffer> buffers, const wait_limit& limit,
                         boost::system::error_code& ec);
  /// On a plain connection, writes what the socket takes now, without waiting (0 through TLS).
  /// An async write tries this first: most requests then need no timer and no reactor.
  std::size_t write_now(std::span<const net::const_buffer> buffers, boost::system::error_code& ec);
  /// As write_here, for reading at least one byte (ec = eof when the peer closed). The wait
  /// ends within a few milliseconds of its limit (see read_watchdog.hpp); the connection is
  /// shut down then, and cannot be used again.
  std::size_t read_some_here(net::mutable_buffer buffer, const wait_limit& limit,
                             boost::system::error_code& ec);

  /// Cancels pending reads and writes (used by deadlines).
  void cancel() noexcept override;
  void close() noexcept override;
  bool is_open() const noexcept override;
  /// The socket's descriptor, registered or not (-1 when closed).
  int native_fd() const noexcept;
  /// True when the idle connection has been closed by the peer or has unexpected bytes waiting.
  bool looks_dead() const noexcept;

  const std::string& origin() const noexcept { return origin_; }
  /// The pool's key: the origin, and the proxy (with a digest of its credentials) when there
  /// is one, so a proxied connection is never reused for another origin or without the proxy.
  const std::string& pool_key() const noexcept { return pool_key_; }
  /// The pool key of a connection to `origin` through `via` (see use_proxy()), computed without
  /// making one.
  static std::string make_pool_key(std::string origin, const std::optional<courier::proxy>& via,
                                   bool tunnel_plain);
  /// host:port, for messages; made once per connection, as every request names its peer.
  const std::string& endpoint_name() const noexcept { return name_; }
  /// Requests go to an HTTP proxy that forwards them: absolute-form targets, and the proxy's
  /// own Proxy-Authorization on every request.
  bool forwards_through_proxy() const noexcept { return proxy_ && !tunnel_; }
  /// "Basic ..." for forwarded requests when the proxy has credentials, else "".
  std::string proxy_authorization() const;
  const std::optional<courier::proxy>& via() const noexcept { return proxy_; }
  coarse_clock::time_point idle_since{};  // set by the pool
  int requests_served = 0;
  /// Where the connection pool keeps this connection's key, set by the pool when it first
  /// takes the connection back: later returns skip the lookup by pool_key().
  pool_slot* slot = nullptr;
  /// The HTTP exchange's read buffer and response parser, kept with the connection: a
  /// keep-alive request reads with them in place, and allocates neither (reset() keeps the
  /// parser's storage). An as_stream response takes them along.
  std::vector<char> read_buffer;
  std::optional<proto::http1::response_parser> parser;
  /// The last request head sent, kept for its storage: the next head is written into it.
  std::string head_storage;
  /// The default Host, User-Agent and Accept lines of this connection's requests, written once
  /// (request_head_writer::fields()), and the uri host they were written for.
  std::string default_fields, default_fields_host;

  /// ALPN for the TLS handshake with the origin: the protocols to offer, in wire format
  /// ("\x02h2\x08http/1.1"), set before connect(). Empty (the default): none offered.
  void offer_alpn(std::string wire_protocols) { alpn_offer_ = std::move(wire_protocols); }
  /// The protocol the origin chose with ALPN ("h2", "http/1.1"), or "" when none was.
  const std::string& alpn_selected() const noexcept { return alpn_selected_; }

  /// The TCP socket, registered with the backend's reactor (again, after blocking calls).
  tcp::socket& socket();

 private:
  net::awaitable<void> connect_tcp(const std::string& host, std::uint16_t port,
                                   const std::string& what, deadline& timer,
                                   clock::time_point until);
  net::awaitable<void> http_connect_handshake(const std::string& where);
  net::awaitable<void> socks5_handshake(const std::string& where, clock::time_point until);
  /// Reads until `have` holds at least n bytes; connect_error when the proxy closes first.
  net::awaitable<void> read_at_least(std::string& have, std::size_t n, const std::string& what);
  net::awaitable<void> send_all(const std::string& bytes, const std::string& what);

  net::any_io_executor ex_;
  std::string alpn_offer_, alpn_selected_;
  std::string origin_, host_, name_;
  std::uint16_t port_;
  std::string pool_key_;
  std::optional<courier::proxy> proxy_;
  bool tunnel_ = false;
  std::optional<tcp::socket> tcp_;
  // The socket while lent to another io_context, that context, and the record of the
  // connections lent to it. guest_ and detached_fd_ of a lent connection are also changed by
  // the context's destruction, under guest_registry_->mutex: a thread other than the
  // context's reads them under it too (guest_fd()).
  std::optional<tcp::socket> guest_;
  const net::execution_context* guest_ctx_ = nullptr;
  std::shared_ptr<struct lent_registry> guest_registry_;
  friend struct lent_registry;
  void give_back_guest() noexcept;  // under guest_registry_->mutex
  /// native_fd(), safe on any thread while the connection may be lent.
  int guarded_fd() const noexcept;
  // While blocking calls use a plain connection it is taken off the backend's reactor, so that
  // the I/O thread is not woken by every arrival it has no reader for. The descriptor is kept
  // here until an async read or write registers it again.
  int detached_fd_ = -1;
  bool detached_v6_ = false;
  bool blocking_ = false;  // detached and switched to blocking mode
  read_watch read_watch_;  // bounds the blocking reads of read_some_here
  void detach_from_reactor() noexcept;
  void attach_to_reactor();
  std::size_t read_some_nonblocking(int fd, net::mutable_buffer buffer, const wait_limit& limit,
                                    boost::system::error_code& ec);
  // TLS over TCP: to the origin, or to an https:// proxy.
  std::unique_ptr<net::ssl::stream<tcp::socket&>> tls_;
  // TLS to the origin inside the TLS to an https:// proxy.
  std::unique_ptr<net::ssl::stream<net::ssl::stream<tcp::socket&>&>> inner_tls_;
};

/// Reads at least one byte from a descriptor given by detach_for_caller_reads(), blocking the
/// calling thread for as long as it takes (ec = eof when the peer closed or shut_down() ran).
/// With a `deadline`, it returns 0 with no error once that passes with nothing to read.
std::size_t read_blocking(
    int fd, net::mutable_buffer buffer, boost::system::error_code& ec,
    std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
/// Writes what the socket `fd` (given by fd_for_caller_reads()) takes now, from all of the
/// buffers in one gathering send, without waiting: the bytes written (0 when it would block).
std::size_t write_nonblocking(int fd, std::span<const net::const_buffer> buffers,
                              boost::system::error_code& ec);

/// A digest of a proxy's credentials for pool keys ("" without credentials): tells two
/// credentials apart without putting them in a string that may reach a message.
std::string credentials_digest(const courier::proxy& p);

/// "127.0.0.1:8080" or "[::1]:8080".
std::string host_port(std::string_view host, std::uint16_t port);

}  // namespace courier::asio_detail
