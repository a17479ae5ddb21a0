// A connection to one origin: TCP, or TLS over TCP. Knows how to connect within a deadline
// and turns every failure into a courier error that names the host, port and cause.
#pragma once

#include <courier/uri.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace courier::asio_detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

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

class transport {
 public:
  transport(net::any_io_executor ex, std::string origin, std::string host, std::uint16_t port);
  ~transport();

  /// Resolves, connects and (for https/wss) runs the TLS handshake, all before `until`.
  /// Throws connect_error, tls_error or timeout_error.
  net::awaitable<void> connect(bool secure, net::ssl::context* tls, bool verify,
                               clock::time_point until);

  /// Writes all of the buffers. Throws write_error / timeout_error (reported by the caller).
  net::awaitable<std::size_t> write(const std::vector<net::const_buffer>& buffers,
                                    boost::system::error_code& ec);
  net::awaitable<std::size_t> read_some(net::mutable_buffer buffer, boost::system::error_code& ec);

  /// Cancels pending reads and writes (used by deadlines).
  void cancel() noexcept;
  void close() noexcept;
  bool is_open() const noexcept;
  /// True when the idle connection has been closed by the peer or has unexpected bytes waiting.
  bool looks_dead() const noexcept;

  const std::string& origin() const noexcept { return origin_; }
  std::string endpoint_name() const;  ///< host:port, for messages
  clock::time_point idle_since{};
  int requests_served = 0;

  tcp::socket& socket() noexcept;

 private:
  net::any_io_executor ex_;
  std::string origin_, host_;
  std::uint16_t port_;
  std::optional<tcp::socket> tcp_;
  std::unique_ptr<net::ssl::stream<tcp::socket&>> tls_;
};

/// "127.0.0.1:8080" or "[::1]:8080".
std::string host_port(std::string_view host, std::uint16_t port);

}  // namespace courier::asio_detail
