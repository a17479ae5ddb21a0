// One hop of an HTTP exchange over HTTP/2 (src/asio/http/http_exchange.cpp runs the redirects): the
// version choice, the connection shared per origin (h2_pool), the request's head and body on
// a stream, and the response into the request's destination.
#pragma once

#include "asio/backend_impl.hpp"
#include "asio/http1/response_reader.hpp"
#include "asio/http2/h2_connection.hpp"

#include "core/body_encoder.hpp"

#include <courier/response.hpp>

#include <exception>
#include <memory>
#include <optional>
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

/// Thrown by h2_response when the server did not process the stream (REFUSED_STREAM, above a
/// GOAWAY's last-stream-id): it may go again on another connection.
struct h2_unprocessed {
  std::string message;
};

class progress_reporter;
class body_sink;

/// Reads one stream's response into its hop's destination, event by event.
class h2_response {
 public:
  h2_response(const h2_hop& hop, h2_connection& conn, h2_stream& s);
  ~h2_response();
  h2_response(const h2_response&) = delete;
  h2_response& operator=(const h2_response&) = delete;

  /// Takes the stream's queued events: true once the response is complete (or a redirect to
  /// follow was found). Throws when the stream ended without one (h2_unprocessed when the
  /// server did not process it).
  bool take_queued();
  /// The hop's result once take_queued() said so. A response read as_stream() gets the rest
  /// of its body as a body stream, which then owns the stream (`handed_over`).
  hop_result result(std::shared_ptr<h2_connection> conn, std::shared_ptr<h2_stream> s,
                    bool& handed_over);
  /// The stream's end was taken: the stream is over, and resetting it would do nothing.
  bool ended() const noexcept { return ended_; }
  /// How many events were taken so far.
  std::size_t events_taken() const noexcept { return taken_; }

 private:
  bool take(http2::event& e);
  bool on_head(http2::response_head_event& h);
  void on_data(std::string& data);
  void write(std::string_view data);
  void finish();
  [[noreturn]] void on_reset(const http2::stream_reset_event& r);

  const h2_hop& hop_;
  h2_connection& conn_;
  h2_stream& stream_;
  // Held by every stream in flight: what most responses need is here, the rest (a progress
  // callback's state, a sink, a decoder) only when used.
  std::unique_ptr<progress_reporter> progress_;
  std::size_t limit_ = 0;
  std::unique_ptr<body_sink> sink_;
  std::unique_ptr<detail::content_decoder> decoder_;
  std::optional<std::uint64_t> length_;
  std::string location_;        // of a redirect to follow
  std::size_t unconsumed_ = 0;  // body bytes taken since the windows last reopened
  std::size_t taken_ = 0;
  bool streamed_;  // the destination is as_stream()
  bool redirect_ = false;
  bool streaming_ = false;
  bool ended_ = false;
};

/// One HTTP/2 hop run by callbacks on its exchange's executor instead of a coroutine: for an
/// async exchange whose hop sends no body and finds its origin's connection ready, which is
/// the usual request on a busy connection. It saves the frames of run_h2_hop and of its waits,
/// and the memory they hold for every stream in flight.
class h2_callback_hop final : public h2_wakeable {
 public:
  /// Whom the hop tells how it ended: once, on the exchange's executor.
  class owner {
   public:
    /// The hop's result, or its failure `e`. `unprocessed`: the server did not process the
    /// stream, which may go again (run_h2_hop, which retries).
    virtual void hop_finished(std::exception_ptr e, hop_result r, bool unprocessed) = 0;

   protected:
    ~owner() = default;
  };

  /// `ex`: the exchange's executor (which outlives the hop), serialized (a strand, or an
  /// io_context one thread runs).
  explicit h2_callback_hop(const net::any_io_executor& ex) : ex_(ex) {}

  /// The origin's connection when one accepts streams now, for a `hop` that sends no body from
  /// an async exchange. Otherwise nullptr, and run_h2_hop takes the hop.
  static std::shared_ptr<h2_connection> ready_for(const h2_hop& hop);

  /// Starts `hop` (which outlives it) on `conn`, on the exchange's executor. `self` is kept
  /// alive while the hop waits (by the connection, which holds the wait).
  void start(const h2_hop& hop, std::shared_ptr<h2_connection> conn, std::shared_ptr<owner> self);
  /// The caller gave up (on the exchange's executor): a waiting hop resets its stream (the
  /// connection lives on) and ends with operation_aborted. False when no hop waits.
  bool cancel();

  void wake(std::shared_ptr<h2_wakeable> self) override;

 private:
  // Takes the stream's events, and waits for more unless the response is complete. `woken`:
  // the wait before ended.
  void step(std::shared_ptr<h2_wakeable> self, bool woken);
  void end(std::shared_ptr<h2_wakeable> self, std::exception_ptr e, hop_result r, bool unprocessed);

  const net::any_io_executor& ex_;
  owner* owner_ = nullptr;  // kept alive by the `self` each step holds
  const h2_hop* hop_ = nullptr;
  std::shared_ptr<h2_connection> conn_;
  std::shared_ptr<h2_stream> stream_;
  std::optional<h2_response> reader_;
  clock::time_point deadline_;
  bool waiting_ = false;
  bool cancelled_ = false;
};

/// The key of an origin's HTTP/2 connections in the backend's h2_pool.
std::string h2_pool_key(const courier::uri& u, const std::optional<courier::proxy>& via);

/// Sends the hop's request on a stream of the origin's HTTP/2 connection and reads the answer.
/// A stream the server did not process (REFUSED_STREAM, above a GOAWAY's last-stream-id) is
/// sent again on another connection. When the awaiting coroutine is cancelled, the stream is
/// reset (RST_STREAM(CANCEL)) and the connection lives on.
net::awaitable<hop_result> run_h2_hop(h2_hop hop);

}  // namespace courier::asio_detail
