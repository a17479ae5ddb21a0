// The WebSocket failures, as typed exceptions (the async API reports their errc).
#pragma once

#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/ws/frame.hpp>

#include <string>

namespace courier {

/// The server did not accept the upgrade: any status but 101, a wrong Sec-WebSocket-Accept,
/// a subprotocol or extension the client never offered. Holds what the server really sent.
class websocket_upgrade_failed : public error {
 public:
  /// The refusal: the status, headers and body the server answered with.
  websocket_upgrade_failed(const std::string& what, int status, courier::headers headers,
                           std::string body)
      : error(make_error_code(errc::websocket_upgrade_failed), what),
        status_(status),
        headers_(std::move(headers)),
        body_(std::move(body)) {}
  /// The status the server answered with (101 when it accepted but the reply was wrong).
  int status() const noexcept { return status_; }
  /// The headers of the server's answer.
  const courier::headers& headers() const noexcept { return headers_; }
  /// The body of the server's answer.
  const std::string& body() const noexcept { return body_; }

 private:
  int status_;
  courier::headers headers_;
  std::string body_;
};

/// The WebSocket is closed; close() is what the peer's close frame said (code 1006 when the
/// connection ended without one).
class websocket_closed : public error {
 public:
  /// Closed, with the close frame received (or close_code::abnormal).
  websocket_closed(const std::string& what, ws::close_event close)
      : error(make_error_code(errc::websocket_closed), what), close_(std::move(close)) {}
  /// The close code and reason.
  const ws::close_event& close() const noexcept { return close_; }

 private:
  ws::close_event close_;
};

/// The bounded buffer of incoming events overflowed with on_full::fail; the socket was closed.
class websocket_buffer_full : public error {
 public:
  /// Made with the message that what() returns.
  explicit websocket_buffer_full(const std::string& what)
      : error(make_error_code(errc::websocket_buffer_full), what) {}
};

}  // namespace courier
