#include "asio/http2/h2_exchange.hpp"
#include "asio/http/body_piece.hpp"
#include "asio/http/body_sink.hpp"
#include "asio/http/stream_progress.hpp"
#include "asio/http2/h2_body_stream.hpp"
#include "asio/http2/h2_connection.hpp"

#include "proto/http2/request_head.hpp"

#include <courier/error.hpp>

#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <limits>
#include <type_traits>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 misreads a coroutine frame's own operator new/delete pair as a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace courier::asio_detail {

namespace {

// Body bytes handed to the connection ahead of what it has sent, per stream.
constexpr std::size_t upload_ahead = std::size_t{1} << 20;
// A stream the server did not process is sent again this many times at most.
constexpr int max_h2_attempts = 4;
// Body bytes taken before the windows reopen, within a batch of events.
constexpr std::size_t reopen_at = 64 * 1024;

http_version chosen_version(const asio_backend::impl& backend, const request_options& options) {
  return options.version.value_or(backend.options.version);
}

// The request's fields for HTTP/2, with the defaults an HTTP/1.1 request gets (User-Agent,
// Accept) and the body's type and length, named in lower case as HTTP/2 sends them. Host
// becomes :authority (make_request_head).
void request_fields(const h2_hop& hop, courier::headers& out) {
  out.clear();
  out.reserve(hop.fields.size() + 4);
  bool has_agent = false, has_accept = false, has_type = false, has_length = false;
  const bool proxied = hop.backend.proxy_for(hop.uri, hop.options).has_value();
  for (const header_field& f : hop.fields) {
    if (iequals(f.name, "Content-Length") || iequals(f.name, "Transfer-Encoding")) {
      if (hop.body.source) continue;  // the body's own length is sent below
      has_length = has_length || iequals(f.name, "Content-Length");
    } else if (iequals(f.name, "Proxy-Authorization")) {
      if (proxied) continue;  // through a tunnel the origin would see it
    } else if (iequals(f.name, "User-Agent")) {
      has_agent = true;
    } else if (iequals(f.name, "Accept")) {
      has_accept = true;
    } else if (iequals(f.name, "Content-Type")) {
      has_type = true;
    }
    out.add_unchecked(f.name, f.value);
  }
  const std::string& agent = hop.backend.options.user_agent;
  if (!has_agent && !agent.empty()) out.add_unchecked("user-agent", agent);
  if (!has_accept) out.add_unchecked("accept", "*/*");
  if (hop.body.source) {
    if (!has_type && !hop.body.content_type.empty()) {
      out.add_unchecked("content-type", hop.body.content_type);
    }
    if (auto size = hop.body.source->size()) {
      out.add_unchecked("content-length", std::to_string(*size));
    }
  } else if ((hop.method == courier::method::post || hop.method == courier::method::put ||
              hop.method == courier::method::patch) &&
             !has_length) {
    out.add_unchecked("content-length", "0");
  }
}

// Opens the origin's HTTP/2 connection: TLS with ALPN, or prior knowledge on cleartext TCP.
net::awaitable<std::shared_ptr<h2_connection>> open_connection(const h2_hop& hop) {
  auto strand = net::make_strand(hop.backend.ioc);
  auto t = std::make_unique<transport>(strand, hop.uri.origin(), std::string(hop.uri.host()),
                                       hop.uri.port());
  if (auto via = hop.backend.proxy_for(hop.uri, hop.options)) t->use_proxy(std::move(*via), true);
  const bool secure = hop.uri.is_secure();
  if (secure) t->offer_alpn(std::string("\x02h2\x08http/1.1", 12));
  asio_backend::impl& backend = hop.backend;
  co_await backend.connect_transport(*t, hop.uri, hop.connect_deadline);
  if (secure && t->alpn_selected() != "h2" &&
      chosen_version(backend, hop.options) == http_version::any) {
    // The origin spoke h2 before; this server does not (now). HTTP/1.1 takes the hop.
    t->close();
    backend.remember_protocol(
        transport::make_pool_key(hop.uri.origin(), backend.proxy_for(hop.uri, hop.options), false),
        asio_backend::impl::origin_protocol::unknown);
    throw h2_declined{};
  }
  if (secure && t->alpn_selected() != "h2") {
    const std::string chose =
        t->alpn_selected().empty() ? "no protocol" : "\"" + t->alpn_selected() + "\"";
    t->close();
    throw protocol_error("HTTP/2 was required (http_version::http2) but " + hop.where +
                         " does not speak it over TLS: ALPN chose " + chose +
                         "; use http_version::any to accept HTTP/1.1");
  }
  auto c = std::make_shared<h2_connection>(std::move(t), strand, hop.where);
  c->start();
  co_return c;
}

// Sends the body in pieces, a bounded amount ahead of the connection.
net::awaitable<void> send_body(const h2_hop& hop, h2_connection& conn,
                               const std::shared_ptr<h2_stream>& s) {
  progress_reporter progress(hop.progress, transfer_progress::direction::upload,
                             hop.options.progress_interval);
  progress.set_total(hop.body.source->size());
  std::string piece;
  for (;;) {
    while (conn.body_buffered(*s) > upload_ahead) {
      if (!(hop.on_caller_thread ? conn.wait_here(s, hop.deadlines.io_deadline())
                                 : co_await conn.wait(s, hop.deadlines.io_deadline()))) {
        hop.deadlines.throw_read_timeout(hop.where);
      }
      if (conn.ended(*s)) co_return;  // the answer came early, or the connection failed
    }
    piece.resize(detail::body_chunk_size);
    const std::size_t n = co_await read_body_piece(hop.body, piece, hop.where);
    piece.resize(n);
    conn.supply_body(*s, std::move(piece), n == 0);
    piece = std::string();
    if (n == 0) break;
    progress.add(n, clock::now());
  }
  progress.finish();
}

// Resets the stream unless the exchange saw it to its end (a failure, a cancellation, a
// redirect whose body is not wanted) or handed it to a body stream.
struct stream_guard {
  h2_connection& conn;
  h2_stream& stream;
  bool handed_over = false;
  ~stream_guard() {
    if (!handed_over) conn.cancel(stream);
  }
};

// Starts the hop's request on `conn`. Its head is made here and dropped once nghttp2 has
// copied it: a request in flight holds none of it (a retry makes it again).
std::shared_ptr<h2_stream> submit(const h2_hop& hop, h2_connection& conn) {
  // The fields' room is kept for the thread's next request (taken, so that a request made
  // meanwhile, from a callback, makes its own).
  thread_local courier::headers spare;
  courier::headers fields = std::move(spare);
  request_fields(hop, fields);
  auto head = http2::make_request_head(hop.method, hop.uri, std::move(fields));
  auto s = conn.submit(head, hop.body.source != nullptr);
  spare = std::move(head.fields);
  if (!s) {
    // The connection ended, or its server sent GOAWAY, between being chosen and now.
    throw h2_unprocessed{"the HTTP/2 connection to " + hop.where +
                         " stopped taking requests before this one was sent"};
  }
  return s;
}

// The origin's connection when none accepts streams now: waited for, or opened. Its own
// coroutine, so that run_h2_hop's frame holds nothing of it.
net::awaitable<std::shared_ptr<h2_connection>> wait_for_connection(const h2_hop& hop) {
  const std::string key = h2_pool_key(hop.uri, hop.backend.proxy_for(hop.uri, hop.options));
  co_return co_await hop.backend.h2.get(key, hop.connect_deadline,
                                        [&hop] { return open_connection(hop); });
}

}  // namespace

h2_response::h2_response(const h2_hop& hop, h2_connection& conn, h2_stream& s)
    : hop_(hop), conn_(conn), stream_(s), streamed_(std::holds_alternative<to_stream>(hop.dest)) {
  if (hop.progress && *hop.progress) {
    progress_ = std::make_unique<progress_reporter>(
        hop.progress, transfer_progress::direction::download, hop.options.progress_interval);
  }
}

h2_response::~h2_response() = default;

bool h2_response::take(http2::event& e) {
  return std::visit(
      [&](auto& ev) -> bool {
        using E = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<E, http2::response_head_event>) {
          return on_head(ev);
        } else if constexpr (std::is_same_v<E, http2::data_event>) {
          on_data(ev.data);
          return false;
        } else if constexpr (std::is_same_v<E, http2::trailers_event>) {
          hop_.out.head.trailers = std::move(ev.trailers);
          return false;
        } else if constexpr (std::is_same_v<E, http2::end_of_stream_event>) {
          finish();
          return true;
        } else if constexpr (std::is_same_v<E, http2::stream_reset_event>) {
          on_reset(ev);
        }
        return false;  // informational answers, and connection events (not routed here)
      },
      e);
}

bool h2_response::take_queued() {
  // The events are taken in batches, one lock each, into the thread's spare room (taken, so
  // that a request made meanwhile, from a progress callback, uses its own).
  thread_local std::vector<http2::event> spare;
  std::vector<http2::event> batch = std::move(spare);
  // The body bytes taken reopen the windows once per batch, however it ends: a stream that
  // is over gets no reset, whose accounting would credit them.
  struct reopen {
    h2_response& r;
    ~reopen() {
      if (r.unconsumed_ > 0) r.conn_.consumed(r.stream_, std::exchange(r.unconsumed_, 0));
    }
  } reopen_windows{*this};
  bool complete = false;
  for (;;) {
    batch.clear();
    // A body read as_stream() is handed over once its head is taken: the events after it
    // stay queued for the body stream.
    const bool over = conn_.take_events(stream_, batch, streamed_ ? 1 : std::size_t(-1));
    for (auto& e : batch) {
      ++taken_;
      if ((complete = take(e))) break;
    }
    if (complete) break;
    if (batch.empty()) {
      if (over) {
        throw read_error("the HTTP/2 stream to " + hop_.where + " ended without a response");
      }
      break;
    }
  }
  batch.clear();
  spare = std::move(batch);
  return complete;
}

hop_result h2_response::result(std::shared_ptr<h2_connection> conn, std::shared_ptr<h2_stream> s,
                               bool& handed_over) {
  hop_result out;
  if (redirect_) {
    out.redirect = true;
    out.location = std::move(location_);
  }
  if (streaming_) {
    out.stream = std::make_shared<h2_body_stream>(
        net::make_strand(hop_.backend.ioc), std::move(conn), std::move(s), std::move(decoder_),
        hop_.where, hop_.options.read_timeout, length_,
        hop_.progress ? *hop_.progress : progress_callback{}, hop_.options.progress_interval);
    handed_over = true;
  }
  return out;
}

bool h2_response::on_head(http2::response_head_event& h) {
  response_head& head = hop_.out.head;
  head.status = h.status;
  head.reason.clear();  // HTTP/2 has no reason phrase
  head.headers = std::move(h.headers);
  head.version = http_version::http2;
  if (hop_.options.follow_redirects && is_redirect_status(h.status)) {
    if (auto loc = head.headers.get("Location")) {
      redirect_ = true;
      location_ = encode_location(*loc);
      return true;  // its body is not read: the stream is reset
    }
  }
  std::optional<std::uint64_t> length;
  if (auto cl = head.headers.get("Content-Length")) {
    try {
      length = std::stoull(std::string(*cl));
    } catch (const std::exception&) {
    }
  }
  if (progress_) progress_->set_total(length);
  limit_ = hop_.options.max_body_size;
  if (const auto* file = std::get_if<to_file>(&hop_.dest)) {
    sink_ = make_file_sink(file->path);
    limit_ = std::numeric_limits<std::size_t>::max();
  } else if (std::holds_alternative<to_discard>(hop_.dest)) {
    sink_ = make_discard_sink();
    limit_ = std::numeric_limits<std::size_t>::max();
  }
  if (hop_.options.decompress) decoder_ = decoder_for(head.headers, limit_, hop_.where);
  if (std::holds_alternative<to_stream>(hop_.dest)) {
    length_ = length;
    streaming_ = true;  // the caller reads the rest
    return true;
  }
  return false;
}

void h2_response::on_data(std::string& data) {
  // Small bodies reopen the windows once per batch of events; a large one as it is taken, so
  // that the server keeps sending while the batch is written out.
  unconsumed_ += data.size();
  if (unconsumed_ >= reopen_at) conn_.consumed(stream_, std::exchange(unconsumed_, 0));
  if (progress_) progress_->add(data.size(), clock::now());
  if (!decoder_) {
    std::string& out = hop_.out.body.bytes;
    if (!sink_ && out.empty() && data.size() <= limit_) {
      out = std::move(data);  // the usual body of one DATA frame: taken, not copied
      return;
    }
    write(data);
    return;
  }
  std::string decoded;
  decode_then(decoder_.get(), decoded, data, [this](std::string_view d) { write(d); });
}

void h2_response::write(std::string_view data) {
  if (sink_) {
    sink_->write(data);
    return;
  }
  std::string& out = hop_.out.body.bytes;
  if (out.size() + data.size() > limit_) {
    throw body_too_large("the response body from " + hop_.where +
                         " is larger than max_body_size (" +
                         std::to_string(hop_.options.max_body_size) +
                         " bytes); raise it with max_body_size() or read it as_file()");
  }
  out.append(data);
}

void h2_response::finish() {
  if (decoder_) {
    std::string decoded;
    decoder_->finish(decoded);
    write(decoded);
  }
  if (sink_) sink_->finish();
  if (progress_) progress_->finish();
  ended_ = true;
}

void h2_response::on_reset(const http2::stream_reset_event& r) {
  const std::string message = "the request to " + hop_.where + " over HTTP/2 failed: " + r.message;
  if (r.safe_to_retry) throw h2_unprocessed{message};
  if (r.protocol_violation) throw protocol_error(message);
  throw read_error(message);
}

bool uses_http2(const asio_backend::impl& backend, const request_options& options,
                const courier::uri& u) {
  switch (chosen_version(backend, options)) {
    case http_version::any:
    case http_version::http1_1:
      return false;
    case http_version::http2:
      if (!u.is_secure()) {
        throw invalid_request(
            "http_version::http2 needs an https:// uri (HTTP/2 is chosen with "
            "TLS ALPN); for cleartext HTTP/2 to " +
            u.origin() + " use http_version::http2_prior_knowledge");
      }
      return true;
    case http_version::http2_prior_knowledge:
      return true;
  }
  return false;
}

std::string h2_pool_key(const courier::uri& u, const std::optional<courier::proxy>& via) {
  // The h2_pool holds HTTP/2 connections only: the origin and the way there are the key.
  return transport::make_pool_key(u.origin(), via, true);
}

// run_h2_hop's frame is held by every stream in flight, and GCC keeps a coroutine's every
// local and temporary in it: what the hop does besides waiting happens in the plain functions
// below, whose strings and proxies live on the stack for the moment they take.
namespace {

// The origin's connection when one accepts streams now, or nullptr.
std::shared_ptr<h2_connection> ready_connection(const h2_hop& hop) {
  if (const std::string* key = hop.backend.direct_pool_key(hop.uri, hop.options))
    return hop.backend.h2.find(*key);
  return hop.backend.h2.find(h2_pool_key(hop.uri, hop.backend.proxy_for(hop.uri, hop.options)));
}

// Before a stream the server did not process goes again: its body from the start.
void rewind_body(const h2_hop& hop) {
  if (!hop.body.source->rewindable()) {
    throw read_error("the HTTP/2 server " + hop.where +
                     " did not process the request, and its streamed body cannot be sent "
                     "again (its stream_body has no rewind function)");
  }
  hop.body.source->rewind();
}

[[noreturn]] void throw_gave_up(const h2_unprocessed& u, int attempts) {
  throw read_error(u.message + " (tried " + std::to_string(attempts) + " times)");
}

}  // namespace

net::awaitable<hop_result> run_h2_hop(h2_hop hop) {
  for (int attempt = 1;; ++attempt) {
    auto c = ready_connection(hop);
    if (!c) c = co_await wait_for_connection(hop);
    if (hop.body.source && attempt > 1) rewind_body(hop);
    try {
      h2_connection& conn = *c;
      const auto s = submit(hop, conn);
      stream_guard guard{conn, *s};
      if (hop.body.source) co_await send_body(hop, conn, s);
      h2_response reader(hop, conn, *s);
      while (!reader.take_queued()) {
        if (!(hop.on_caller_thread ? conn.wait_here(s, hop.deadlines.io_deadline())
                                   : co_await conn.wait(s, hop.deadlines.io_deadline()))) {
          hop.deadlines.throw_read_timeout(hop.where);
        }
      }
      co_return reader.result(c, s, guard.handed_over);
    } catch (const h2_unprocessed& u) {
      if (attempt >= max_h2_attempts) throw_gave_up(u, attempt);
    }
  }
}

// --- the hop run by callbacks ----------------------------------------------------------------

std::shared_ptr<h2_connection> h2_callback_hop::ready_for(const h2_hop& hop) {
  return ready_connection(hop);
}

void h2_callback_hop::start(const h2_hop& hop, std::shared_ptr<h2_connection> conn,
                            std::shared_ptr<owner> self) {
  owner_ = self.get();
  hop_ = &hop;
  conn_ = std::move(conn);
  cancelled_ = false;
  // The waits hold the owner through this pointer to the hop (an alias: no allocation).
  std::shared_ptr<h2_wakeable> me(std::move(self), this);
  try {
    stream_ = submit(hop, *conn_);
    reader_.emplace(hop, *conn_, *stream_);
  } catch (const h2_unprocessed&) {
    end(std::move(me), nullptr, {}, true);
    return;
  } catch (...) {
    end(std::move(me), std::current_exception(), {}, false);
    return;
  }
  step(std::move(me), false);
}

void h2_callback_hop::step(std::shared_ptr<h2_wakeable> self, bool woken) {
  try {
    for (;;) {
      const std::size_t before = reader_->events_taken();
      if (reader_->take_queued()) {
        bool handed_over = false;
        hop_result r = reader_->result(conn_, stream_, handed_over);
        if (handed_over) stream_.reset();  // the body stream owns it now
        end(std::move(self), nullptr, std::move(r), false);
        return;
      }
      // Woken with nothing queued once the deadline passed: by the connection's deadline
      // timer.
      if (woken && reader_->events_taken() == before && clock::now() >= deadline_) {
        hop_->deadlines.throw_read_timeout(hop_->where);
      }
      woken = false;
      deadline_ = hop_->deadlines.io_deadline();
      // The call comes on this executor, so after this returns.
      if (conn_->expect_call(*stream_, ex_, self, deadline_)) {
        waiting_ = true;
        return;
      }
    }
  } catch (const h2_unprocessed&) {
    end(std::move(self), nullptr, {}, true);
  } catch (...) {
    end(std::move(self), std::current_exception(), {}, false);
  }
}

void h2_callback_hop::wake(std::shared_ptr<h2_wakeable> self) {
  waiting_ = false;
  if (cancelled_) {
    end(std::move(self),
        std::make_exception_ptr(operation_aborted(
            "the request to " + hop_->where +
            " was cancelled before its response was complete; its HTTP/2 stream was reset")),
        {}, false);
    return;
  }
  step(std::move(self), true);
}

bool h2_callback_hop::cancel() {
  if (!waiting_) return false;
  // The hop ends at its wake-up: now, unless its call is already on its way.
  cancelled_ = true;
  if (auto self = conn_->forget_call(*stream_)) wake(std::move(self));
  return true;
}

void h2_callback_hop::end(std::shared_ptr<h2_wakeable> self, std::exception_ptr e, hop_result r,
                          bool unprocessed) {
  // The stream is reset unless it was seen to its end (a failure, a cancellation, a redirect
  // whose body is not wanted) or handed to a body stream. The connection lives on.
  if (stream_ && !(reader_ && reader_->ended())) conn_->cancel(*stream_);
  reader_.reset();
  stream_.reset();
  conn_.reset();
  // The owner may start its next hop on this object from here; `self` keeps it alive.
  owner_->hop_finished(e, std::move(r), unprocessed);
}

}  // namespace courier::asio_detail
