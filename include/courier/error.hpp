// The errors courier reports: typed exceptions, thrown by the sync API and handed to async
// completions as a std::exception_ptr (docs/errors.md).
#pragma once

#include <boost/system/error_code.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

namespace courier {

/// What went wrong, as an error code: error::code() of every courier exception, and
/// error_code_of() of an async completion's exception_ptr. Each value has an exception type
/// below.
enum class errc {
  invalid_request = 1,       ///< bad input caught before anything was sent (uri, header, body)
  connect_failed,            ///< DNS, TCP connect, or a proxy refused
  timeout,                   ///< a connect, read or whole-request deadline passed
  read_failed,               ///< the peer closed or reset the connection mid-response
  write_failed,              ///< sending the request failed
  tls_failed,                ///< handshake or certificate verification failed
  protocol_error,            ///< the peer broke HTTP/1.1 or WebSocket rules
  too_many_redirects,        ///< the redirect limit was reached
  body_too_large,            ///< a size limit (body, decoded body, message) was exceeded
  file_error,                ///< a file body could not be read or as_file could not write
  decode_failed,             ///< the body could not be turned into the asked type (as_json, ...)
  websocket_upgrade_failed,  ///< the server did not accept the WebSocket upgrade
  websocket_closed,          ///< the WebSocket is closed
  websocket_buffer_full,     ///< the incoming-event buffer bound was hit with on_full::fail
  operation_aborted,         ///< the backend was shut down or the operation was cancelled
  proxy_error,               ///< the proxy refused: 407, a non-2xx CONNECT answer, a SOCKS error
};

/// The category of courier's error codes (errc), named "courier".
const boost::system::error_category& error_category() noexcept;

/// Lets an errc be compared with and stored as a boost::system::error_code.
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// The base of every exception courier throws. code() gives the matching errc.
class error : public std::runtime_error {
 public:
  /// An exception with this code and message.
  error(boost::system::error_code code, const std::string& what)
      : std::runtime_error(what), code_(code) {}
  /// The errc of this error, as an error code.
  const boost::system::error_code& code() const noexcept { return code_; }

 private:
  boost::system::error_code code_;
};

#define COURIER_DEFINE_ERROR(name, code_value)                                           \
  class name : public error {                                                            \
   public:                                                                               \
    explicit name(const std::string& what) : error(make_error_code(code_value), what) {} \
  }

/// Bad input caught before anything was sent: uri, header, body, options.
COURIER_DEFINE_ERROR(invalid_request, errc::invalid_request);
/// DNS, TCP connect or a proxy's connection failed.
COURIER_DEFINE_ERROR(connect_error, errc::connect_failed);
/// A connect, read or whole-request deadline passed.
COURIER_DEFINE_ERROR(timeout_error, errc::timeout);
/// The peer closed or reset the connection, or reading from it failed.
COURIER_DEFINE_ERROR(read_error, errc::read_failed);
/// Sending the request failed.
COURIER_DEFINE_ERROR(write_error, errc::write_failed);
/// The TLS handshake or certificate verification failed.
COURIER_DEFINE_ERROR(tls_error, errc::tls_failed);
/// The peer broke the HTTP/1.1 or WebSocket rules.
COURIER_DEFINE_ERROR(protocol_error, errc::protocol_error);
/// The redirect limit (request_options::max_redirects) was reached.
COURIER_DEFINE_ERROR(too_many_redirects, errc::too_many_redirects);
/// A size limit (body, decoded body, message) was exceeded.
COURIER_DEFINE_ERROR(body_too_large, errc::body_too_large);
/// A file body could not be read, or as_file could not write.
COURIER_DEFINE_ERROR(file_error, errc::file_error);
/// The body could not be turned into the asked type (as_json, receive_text, ...).
COURIER_DEFINE_ERROR(decode_error, errc::decode_failed);
/// The backend was shut down or the operation was cancelled.
COURIER_DEFINE_ERROR(operation_aborted, errc::operation_aborted);

#undef COURIER_DEFINE_ERROR

/// An invalid uri is an invalid request: caught where the uri is made.
class invalid_uri : public invalid_request {
 public:
  /// Made with the message that what() returns.
  using invalid_request::invalid_request;
};

/// A header name or value that would corrupt the request (CR, LF, NUL, bad token characters).
class invalid_header : public invalid_request {
 public:
  /// Made with the message that what() returns.
  using invalid_request::invalid_request;
};

/// The proxy refused the request or the tunnel: an HTTP proxy answered 407 (wrong or missing
/// credentials) or another non-2xx status to CONNECT, or a SOCKS5 server refused. status() is
/// the HTTP status, or for SOCKS5 the reply code (1-8) or 256 + the method/auth failure; body()
/// is what the proxy sent (at most 64 KiB). The message never contains proxy credentials.
class proxy_error : public error {
 public:
  /// A refusal with the proxy's status and body.
  proxy_error(int status, std::string body, const std::string& what)
      : error(make_error_code(errc::proxy_error), what), status_(status), body_(std::move(body)) {}
  /// A refusal with no status or body (status() is 0).
  explicit proxy_error(const std::string& what) : proxy_error(0, {}, what) {}
  /// The HTTP status, the SOCKS5 reply code, or 256 + a SOCKS5 method/auth failure; 0 if none.
  int status() const noexcept { return status_; }
  /// What the proxy sent back, at most 64 KiB.
  const std::string& body() const noexcept { return body_; }

 private:
  int status_;
  std::string body_;
};

/// Throws the exception type that matches `code`, with `what` as its message.
[[noreturn]] void throw_error(const boost::system::error_code& code, const std::string& what);

/// The error code of the exception an async operation completed with, for comparisons such as
/// `error_code_of(e) == courier::errc::timeout`: a courier::error's code(), a system error's
/// code, errc::body_too_large for std::bad_alloc, errc::protocol_error for anything else, and
/// no error for a null pointer (a success).
boost::system::error_code error_code_of(const std::exception_ptr& e) noexcept;

/// The message of that exception (what()), or "" for a null pointer.
std::string message_of(const std::exception_ptr& e);

}  // namespace courier

namespace boost::system {
template <>
struct is_error_code_enum<courier::errc> : std::true_type {};
}  // namespace boost::system
