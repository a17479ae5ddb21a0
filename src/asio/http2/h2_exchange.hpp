// One hop of an HTTP exchange over HTTP/2 (src/asio/http/http_exchange.cpp runs the redirects): the
// version choice, the connection shared per origin (h2_pool), the request's head and body on
// a stream, and the response into the request's destination.
#pragma once

#include "asio/backend_impl.hpp"
#include "asio/http1/response_reader.hpp"

#include "core/body_encoder.hpp"

#include <courier/response.hpp>

#include <memory>
#include <string>

namespace courier::asio_detail {

/// Whether a hop to `u` goes over HTTP/2: the request's http_version, else the backend's.
/// Throws invalid_request for http_version::http2 on an http:// uri (cleartext HTTP/2 needs
/// prior knowledge).
bool uses_http2(const asio_backend::impl& backend, const request_options& options,
                const courier::uri& u);

/// The deadlines of a hop's waits for the server, kept by its exchange.
class hop_deadlines {
 public:
  /// The deadline of one wait for the server (read_timeout within the whole-request one).
  virtual clock::time_point io_deadline() const = 0;
  /// Throws the timeout_error of a wait for `where` that passed io_deadline().
  [[noreturn]] virtual void throw_read_timeout(const std::string& where) const = 0;

 protected:
  ~hop_deadlines() = default;
};

/// What one HTTP/2 hop reads and writes; every reference outlives the hop. The hop's coroutine
/// holds it by value: its frame is the only one between the exchange and the stream's waits.
struct h2_hop {
  asio_backend::impl& backend;
  const request_options& options;
  const progress_callback* progress;
  const body_destination& dest;
  const courier::uri& uri;
  const courier::method& method;
  const courier::headers& fields;
  detail::encoded_body& body;
  raw_response& out;  // gets the head (and the body for the memory destination)
  std::string where;  // host:port
  const hop_deadlines& deadlines;
  clock::time_point connect_deadline;
  /// A blocking call: the hop runs on the caller's own thread, which waits for the stream's
  /// events itself (h2_connection::wait_here) instead of through a timer on its io_context.
  bool on_caller_thread = false;
};

/// Thrown by run_h2_hop under http_version::any when a new connection to an origin known to
/// speak h2 got http/1.1 (or nothing) from ALPN: the origin is forgotten, and the hop goes
/// on over HTTP/1.1. Nothing was sent.
struct h2_declined {};

/// The key of an origin's HTTP/2 connections in the backend's h2_pool.
std::string h2_pool_key(const courier::uri& u, const std::optional<courier::proxy>& via);

/// Sends the hop's request on a stream of the origin's HTTP/2 connection and reads the answer.
/// A stream the server did not process (REFUSED_STREAM, above a GOAWAY's last-stream-id) is
/// sent again on another connection. When the awaiting coroutine is cancelled, the stream is
/// reset (RST_STREAM(CANCEL)) and the connection lives on.
net::awaitable<hop_result> run_h2_hop(h2_hop hop);

}  // namespace courier::asio_detail
