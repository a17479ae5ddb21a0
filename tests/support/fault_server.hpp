// fault_server: an in-process TCP server on 127.0.0.1 for what polite servers never do (drop a
// connection mid-body, never answer, send bytes one at a time, send malformed framing...).
// Each accepted connection runs a script, written with blocking helpers that are all bounded
// by a timeout, so a test can never hang on it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace courier::test {

/// Thrown by connection's helpers: on a timeout, on a peer that closed or reset where data was
/// expected, and when the server is being destroyed. The server catches it around each script.
class fault_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One accepted TCP connection, as a script sees it. Every call blocks for at most timeout()
/// (10 s unless set_timeout() says otherwise) and returns early, throwing fault_error, when the
/// server is destroyed.
class connection {
 public:
  static constexpr std::chrono::milliseconds default_timeout{10'000};

  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// 0 for the first connection the server accepted, 1 for the second, ...: lets one script
  /// act differently per connection without shared state.
  int index() const noexcept;
  std::chrono::milliseconds timeout() const noexcept;
  void set_timeout(std::chrono::milliseconds limit) noexcept;

  /// Reads up to and including the blank line that ends a request head ("\r\n\r\n"); bytes
  /// after it stay buffered for the next read. Throws if the peer closes first, or if the head
  /// exceeds 64 KiB.
  std::string read_request_head();
  /// Like read_request_head(), but nullopt when the peer closes cleanly before sending any
  /// byte: the end of a keep-alive loop.
  std::optional<std::string> try_read_request_head();
  /// The buffered bytes if any, else whatever one read returns; "" once the peer has closed.
  std::string read_some();
  /// Exactly n bytes; throws if the peer closes first.
  std::string read_exactly(std::size_t n);

  /// Writes all of `bytes`.
  void write(std::string_view bytes);

  /// Graceful close: FIN, then reads and discards until the peer closes too (at most 2 s), so
  /// unread request bytes do not turn the close into a reset. Safe to call twice.
  void close();
  /// Abortive close: RST (SO_LINGER with a zero timeout).
  void reset();
  /// Reads and discards until the peer closes; true if it did within `limit`.
  bool wait_for_peer_close(std::chrono::milliseconds limit);
  /// Sleeps for `d`; throws fault_error at once if the server is destroyed meanwhile.
  void pause(std::chrono::milliseconds d);
  bool is_open() const noexcept;

 private:
  friend class fault_server;
  struct state;
  explicit connection(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

class fault_server {
 public:
  /// Runs once per accepted connection, on a thread of its own: scripts of different
  /// connections run concurrently. Whatever the script leaves open is closed gracefully when
  /// it returns. An exception leaving a script closes the connection and is recorded.
  using script = std::function<void(connection&)>;

  /// Listens on 127.0.0.1 at a port the kernel picks, and starts accepting at once.
  explicit fault_server(script s);
  /// Stops accepting, interrupts every script (their blocked calls throw), joins all threads.
  ~fault_server();
  fault_server(const fault_server&) = delete;
  fault_server& operator=(const fault_server&) = delete;

  std::uint16_t port() const noexcept;
  /// http://127.0.0.1:port/path
  std::string url(std::string_view path = "/") const;
  /// The same with another scheme, e.g. "ws".
  std::string url(std::string_view scheme, std::string_view path) const;
  int connections_accepted() const noexcept;
  /// The messages of exceptions that left scripts (not those caused by the destructor).
  std::vector<std::string> script_errors() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// --- ready-made scripts ------------------------------------------------------------------------

/// Reads the request head, writes `bytes` exactly, closes.
fault_server::script respond_raw(std::string bytes);
/// Reads the request head, answers 200 with "Content-Length: declared", sends only `sent` body
/// bytes ('x'), closes.
fault_server::script close_mid_body(std::size_t declared, std::size_t sent);
/// Reads the request head and never answers; returns when the peer closes or the server is
/// destroyed (at most 5 minutes).
fault_server::script never_answer();
/// Reads the request head, then writes `bytes` one byte at a time with `gap` between, closes.
fault_server::script slow_drip(std::string bytes, std::chrono::milliseconds gap);
/// Reads the request head, then resets the connection (RST) without answering.
fault_server::script reset_after_head();

}  // namespace courier::test
