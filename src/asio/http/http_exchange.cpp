// One HTTP request over the Asio backend, redirects included. Each hop goes over HTTP/2
// (asio/http2/h2_exchange) or HTTP/1.1, whose I/O loop is here: it writes the head
// (asio/http1/request_head) and body, and drives the response reader (asio/http1).
#include "asio/backend_impl.hpp"
#include "asio/http/body_piece.hpp"
#include "asio/http/retry_policy.hpp"
#include "asio/http/stream_progress.hpp"
#include "asio/http1/request_head.hpp"
#include "asio/http1/response_reader.hpp"
#include "asio/http1/stream_response.hpp"
#include "asio/http2/h2_exchange.hpp"
#include "core/hot_path.hpp"

#include "core/body_encoder.hpp"
#include "proto/http1/request_writer.hpp"

#include <courier/body_source.hpp>
#include <courier/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <optional>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 misreads the coroutine frame's own operator new/delete pair in run_exchange as a
// mismatch (a false positive of its coroutine lowering).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace courier::asio_detail {

namespace http1 = courier::proto::http1;

namespace {

constexpr std::size_t read_buffer_size = 64 * 1024;  // per read of a streamed request body

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

struct exchange_state final : hop_deadlines {
  exchange_state(asio_backend::impl& b, const request_data& req, const body_destination& d)
      : backend(b), options(req.options()), progress(req.progress()), dest(d) {
    if (options.timeout) overall = after(clock::now(), *options.timeout);
  }
  exchange_state(const exchange_state&) = delete;
  exchange_state& operator=(const exchange_state&) = delete;

  asio_backend::impl& backend;
  const request_options& options;            // the request's, which outlives the exchange
  std::optional<clock::time_point> overall;  // whole-request deadline
  const progress_callback* progress = nullptr;
  const body_destination& dest;  // where the final response's body goes
  // A blocking call runs the exchange on its own thread, and on a plain connection moves the
  // bytes itself (transport::read_some_here) instead of handing each wait to an I/O thread.
  bool on_caller_thread = false;
  // An async exchange running on the caller's own io_context (a coroutine's): plain
  // connections are lent to it for the exchange (transport::lend_to).
  bool on_caller_context = false;

  // One read or write's limit (the request's read_timeout, within the whole-request timeout).
  wait_limit io_limit() const { return {options.read_timeout, overall}; }
  clock::time_point connect_deadline() const {
    return wait_limit{options.connect_timeout, overall}.until();
  }
  [[noreturn]] COURIER_COLD void throw_timeout(const char* what_timed_out,
                                               std::chrono::milliseconds per_op,
                                               const std::string& where) const {
    if (overall && clock::now() >= *overall - std::chrono::milliseconds(1)) {
      throw timeout_error("request timeout: the whole exchange with " + where +
                          " took longer than " + ms(*options.timeout));
    }
    throw timeout_error(std::string(what_timed_out) + " " + where + " for " + ms(per_op));
  }

  clock::time_point io_deadline() const override { return io_limit().until(); }
  [[noreturn]] void throw_read_timeout(const std::string& where) const override {
    throw_timeout("read timeout: no data from", options.read_timeout, where);
  }
};

// One write or read within `limit`, reported as ec = timed_out when it passes. A blocking call
// on a plain connection does it on its own thread (one syscall when the socket is ready);
// otherwise a reactor waits, and a timer cancels the socket when time is up. (Reads on plain
// connections are bounded by the read watchdog instead: transport::read_some_within.)
net::awaitable<std::size_t> write_before(const exchange_state& st, transport& t,
                                         const std::vector<net::const_buffer>& buffers,
                                         const wait_limit& limit, boost::system::error_code& ec) {
  if (st.on_caller_thread && t.is_plain()) co_return t.write_here(buffers, limit, ec);
  // What the socket takes at once needs no timer and no reactor (a request head always fits).
  const std::size_t total = net::buffer_size(buffers);
  const std::size_t now = t.write_now(buffers, ec);
  if (ec || now == total) co_return now;
  std::vector<net::const_buffer> rest;
  std::size_t skip = now;
  for (const auto& b : buffers) {
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    rest.push_back(b + skip);
    skip = 0;
  }
  deadline timer(co_await net::this_coro::executor);
  timer.arm(limit.until(), [p = &t] { p->cancel(); });
  std::size_t n = co_await t.write(rest, ec);
  timer.disarm();
  if (timer.expired()) ec = net::error::timed_out;
  co_return now + n;
}

net::awaitable<std::size_t> read_before(transport& t, net::mutable_buffer buffer,
                                        const wait_limit& limit, boost::system::error_code& ec) {
  deadline timer(co_await net::this_coro::executor);
  timer.arm(limit.until(), [p = &t] { p->cancel(); });
  std::size_t n = co_await t.read_some(buffer, ec);
  timer.disarm();
  if (timer.expired()) ec = net::error::timed_out;
  co_return n;
}

// How a failed write of the request is reported.
[[noreturn]] COURIER_COLD void request_write_failed(const exchange_state& st,
                                                    const boost::system::error_code& ec,
                                                    const std::string& where) {
  if (ec == net::error::timed_out)
    st.throw_timeout("write timeout: could not send to", st.options.read_timeout, where);
  throw write_error("sending the request to " + where + " failed: " + ec.message());
}
void check_request_write(const exchange_state& st, const boost::system::error_code& ec,
                         const std::string& where) {
  if (ec) request_write_failed(st, ec, where);
}

// write_request for a request without a body, sent from the caller's thread on a plain
// connection: one write, no coroutine.
COURIER_HOT void write_head_here(exchange_state& st, transport& t, const std::string& head,
                                 const std::string& where) {
  boost::system::error_code ec;
  const net::const_buffer buffer = net::buffer(head);
  t.write_here({&buffer, 1}, st.io_limit(), ec);
  check_request_write(st, ec, where);
}

// Sends the head and the body. Returns false when the write failed on a reused connection
// before anything could have been processed (the caller may retry on a fresh one).
net::awaitable<void> write_request(exchange_state& st, transport& t, const std::string& head,
                                   detail::encoded_body& body, const std::string& where) {
  std::vector<char> chunk;
  std::vector<net::const_buffer> buffers;
  buffers.push_back(net::buffer(head));
  const bool chunked = body.source && !body.source->size();
  std::string prefix;
  bool body_done = !body.source;
  bool first = true;
  progress_reporter progress(st.progress, transfer_progress::direction::upload,
                             st.options.progress_interval);
  if (body.source) progress.set_total(body.source->size());
  std::size_t pending_progress = 0;  // body bytes in `buffers`, counted once written
  while (first || !body_done) {
    if (!first) buffers.clear();
    first = false;
    if (!body_done) {
      chunk.resize(read_buffer_size);
      const std::size_t n = co_await read_body_piece(body, chunk, where);
      pending_progress = n;
      if (n == 0) {
        body_done = true;
        if (chunked) buffers.push_back(net::buffer(http1::last_chunk));
      } else {
        if (chunked) {
          prefix = http1::chunk_prefix(n);
          buffers.push_back(net::buffer(prefix));
        }
        buffers.push_back(net::buffer(chunk.data(), n));
        if (chunked) buffers.push_back(net::buffer(http1::chunk_suffix));
      }
    }
    if (buffers.empty()) continue;
    boost::system::error_code ec;
    co_await write_before(st, t, buffers, st.io_limit(), ec);
    check_request_write(st, ec, where);
    if (pending_progress > 0) progress.add(pending_progress, clock::now());
    pending_progress = 0;
  }
  if (body.source) progress.finish();
}

// Reports a read that timed out, or returns.
COURIER_HOT void check_read_timeout(const exchange_state& st, const boost::system::error_code& ec,
                                    const std::string& where) {
  if (ec == net::error::timed_out) {
    st.throw_timeout("read timeout: no data from", st.options.read_timeout, where);
  }
}

// The redirect walk of one request: the uri, method, headers and body of the next hop, and
// the caller's response once a hop answers without a redirect. The hops are run by the
// blocking loop (run_http_exchange_here) or by a coroutine (run_exchange).
class hop_plan {
 public:
  COURIER_HOT hop_plan(const request_data& req, raw_response& out)
      : req_(req),
        out_(out),
        current_(first_uri(req)),
        method_(&req.method()),
        headers_(&req.headers()) {
    check_scheme();
    body_ = detail::encode_body(req.body());
  }

  const courier::uri& uri() const noexcept { return current_; }
  const courier::method& method() const noexcept { return *method_; }
  const headers& fields() const noexcept { return *headers_; }
  detail::encoded_body& body() noexcept { return body_; }
  raw_response& response() noexcept { return out_; }

  /// Takes a hop's answer. True when it was the final one (now in the response); false when a
  /// redirect is to be followed, and the plan now describes the next hop.
  COURIER_HOT bool take(hop_result&& r, const exchange_state& st) {
    st.backend.check_forwarded_answer(current_, st.options, out_.head, out_.body.bytes);
    if (r.redirect) {
      follow(r, st);
      return false;
    }
    out_.body.stream = std::move(r.stream);
    out_.final_uri = std::move(current_);
    return true;
  }

 private:
  // Makes the plan describe the hop `r` redirects to.
  COURIER_COLD void follow(hop_result& r, const exchange_state& st) {
    if (++hops_ > st.options.max_redirects) {
      throw too_many_redirects("stopped after " + std::to_string(st.options.max_redirects) +
                               " redirects; the last one, from " + current_.str() +
                               ", pointed to " + *r.location);
    }
    courier::uri next = current_.resolve(*r.location);
    const int status = out_.head.status;
    out_.history.push_back(redirect_record{*method_, current_, std::move(out_.head)});
    // RFC 9110 15.4: 303 means "GET it over there"; browsers and curl do the same for a POST
    // answered by 301 or 302. 307 and 308 repeat the request as it was.
    bool to_get = (status == 303 && *method_ != courier::method::head) ||
                  ((status == 301 || status == 302) && *method_ == courier::method::post);
    if (to_get) {
      method_ = &courier::method::get;
      body_ = detail::encoded_body{};
      headers& h = edit_headers();
      h.erase("Content-Type");
      h.erase("Content-Length");
      h.erase("Transfer-Encoding");
    } else if (body_.source) {
      body_.source->rewind();
    }
    if (next.origin() != current_.origin()) {
      // Credentials were meant for the first origin only.
      headers& h = edit_headers();
      h.erase("Authorization");
      h.erase("Cookie");
      h.erase("Proxy-Authorization");
      h.erase("Host");
    }
    // The next hop's proxy is chosen again from the settings (NO_PROXY included) by connect().
    current_ = std::move(next);
    check_scheme();
    out_.body.bytes.clear();
  }

  COURIER_HOT static courier::uri first_uri(const request_data& req) {
    auto u = req.uri();
    if (!u) {
      throw invalid_request("the request has no uri: call get(uri), post(uri) or method(m, uri)");
    }
    return std::move(*u);
  }
  COURIER_HOT void check_scheme() const {
    if (current_.scheme() == "http" || current_.scheme() == "https") return;
    unsupported_scheme();
  }
  [[noreturn]] COURIER_COLD void unsupported_scheme() const {
    throw invalid_request("unsupported scheme \"" + std::string(current_.scheme()) + "\" in " +
                          current_.str() +
                          (current_.scheme() == "ws" || current_.scheme() == "wss"
                               ? ": use open_websocket() for WebSocket uris"
                               : ": the asio backend speaks http and https"));
  }
  // The request's own headers until a redirect changes them (most requests have none).
  headers& edit_headers() {
    if (!changed_headers_) headers_ = &changed_headers_.emplace(req_.headers());
    return *changed_headers_;
  }

  const request_data& req_;
  raw_response& out_;
  courier::uri current_;
  const courier::method* method_;  // the request's, or a constant: never copied
  const headers* headers_;
  std::optional<headers> changed_headers_;
  detail::encoded_body body_;
  int hops_ = 0;
};

// How the next hop starts when the blocking path hands it to a coroutine.
struct hop_start {
  int attempt = 0;                  // 1 after a stale pooled connection was found out
  std::unique_ptr<transport> conn;  // an idle pooled connection already taken (TLS)
};

// Sends the request on `conn` and reads the response, for the blocking path on a plain
// connection (no coroutine): one write and reads on this thread.
COURIER_HOT hop_result exchange_here(exchange_state& st, hop_plan& plan,
                                     std::unique_ptr<transport>& conn, const std::string& where,
                                     bool may_retry) {
  std::string head = build_http1_head(plan.method(), plan.uri(), plan.fields(), plan.body(),
                                      st.backend.options, *conn);
  try {
    write_head_here(st, *conn, head, where);
  } catch (const write_error&) {
    if (may_retry) throw connection_failure{};  // the server closed (and reset) it while idle
    throw;
  }
  conn->head_storage = std::move(head);
  response_reader reader(st.backend, st.options, st.progress, *conn,
                         plan.method() == courier::method::head, st.dest, plan.response(), where,
                         may_retry);
  while (!reader.parse()) {
    boost::system::error_code ec;
    const std::size_t n = conn->read_some_here(reader.space(), st.io_limit(), ec);
    check_read_timeout(st, ec, where);
    reader.took(n, ec);
  }
  return reader.finish(conn);
}

// A blocking call's hop done wholly on its thread: an idle plain connection from the pool, a
// request without a body, one write, and reads until the response ends. No coroutine frame
// and no io_context: the keep-alive GET. nullopt, with `next` saying how to go on, when the
// hop needs the general path (a connection to open, TLS, a body, a stale connection).
COURIER_HOT std::optional<hop_result> try_hop_here(exchange_state& st, hop_plan& plan,
                                                   hop_start& next) {
  if (plan.body().source) return std::nullopt;
  if (st.options.version || st.backend.options.version != http_version::any) [[unlikely]] {
    if (uses_http2(st.backend, st.options, plan.uri())) return std::nullopt;
  }
  const courier::uri& u = plan.uri();
  std::unique_ptr<transport> conn =
      st.backend.take_idle(u, st.options, is_idempotent(plan.method()));
  if (!conn) return std::nullopt;
  if (!conn->is_plain()) {
    next.conn = std::move(conn);
    return std::nullopt;
  }
  try {
    return exchange_here(st, plan, conn, conn->endpoint_name(), true);
  } catch (const connection_failure& failure) {
    st.backend.pool.release(std::move(conn), false);
    if (failure.request_sent && !is_idempotent(plan.method())) {
      throw_not_resent(plan.method(), host_port(u.host(), u.port()));
    }
    next.attempt = 1;  // a stale pooled connection: the general path opens a fresh one
    return std::nullopt;
  } catch (...) {
    if (conn) st.backend.pool.release(std::move(conn), false);
    throw;
  }
}

// The HTTP/2 hop (h2_exchange.cpp) of the plan's current uri, with this exchange's deadlines.
h2_hop make_h2_hop(exchange_state& st, hop_plan& plan, std::string where) {
  return h2_hop{st.backend,
                st.options,
                st.progress,
                st.dest,
                plan.uri(),
                plan.method(),
                plan.fields(),
                plan.body(),
                plan.response(),
                std::move(where),
                st,
                st.connect_deadline(),
                st.on_caller_thread};
}

// The hop over HTTP/2. Not a coroutine: the hop's own frame holds what it needs.
net::awaitable<hop_result> run_http2_hop(exchange_state& st, hop_plan& plan, std::string where) {
  return run_h2_hop(make_h2_hop(st, plan, std::move(where)));
}

// Whether `u`'s origin (through the request's proxy) chose h2 with ALPN before.
bool known_h2_origin(exchange_state& st, const courier::uri& u) {
  using protocol = asio_backend::impl::origin_protocol;
  if (const std::string* key = st.backend.direct_pool_key(u, st.options))
    return st.backend.known_protocol(*key) == protocol::http2;
  return st.backend.known_protocol(transport::make_pool_key(
             u.origin(), st.backend.proxy_for(u, st.options), false)) == protocol::http2;
}

// For http_version::any on https:// with no idle HTTP/1.1 connection to the origin: the hop
// over HTTP/2 when the origin is known to speak h2, or when a new connection offered h2 and
// http/1.1 and ALPN chose h2 (that connection becomes the origin's HTTP/2 connection).
// Otherwise the new connection (when one was made) for HTTP/1.1, or nullptr with nothing
// made (the origin speaks HTTP/1.1, or stopped speaking h2): the caller connects as before.
// While one request finds out what a new origin speaks, the others to it wait (in the HTTP/2
// pool, as for a connection being opened): had each opened its own, an h2 origin would get
// one TLS connection per request of the first burst, where one serves them all.
COURIER_COLD net::awaitable<std::optional<hop_result>> try_alpn_hop(
    exchange_state& st, hop_plan& plan, const std::string& where, bool can_resend,
    std::unique_ptr<transport>& conn) {
  using protocol = asio_backend::impl::origin_protocol;
  const courier::uri& u = plan.uri();
  const auto via = st.backend.proxy_for(u, st.options);
  const std::string key = transport::make_pool_key(u.origin(), via, false);
  const protocol known = st.backend.known_protocol(key);
  if (known == protocol::http1_1) co_return std::nullopt;
  if (known == protocol::unknown) {
    asio_backend::impl& backend = st.backend;
    const auto probe = [&]() -> net::awaitable<std::shared_ptr<h2_connection>> {
      // A request that waited for another's probe finds the answer here.
      if (backend.known_protocol(key) == protocol::http1_1) co_return nullptr;
      conn = co_await backend.connect(u, st.options, st.connect_deadline(), can_resend, true);
      if (conn->requests_served > 0) co_return nullptr;  // an idle one, returned meanwhile
      if (conn->alpn_selected() != "h2") {
        backend.remember_protocol(key, protocol::http1_1);
        co_return nullptr;
      }
      backend.pool.give_back_slot(conn->pool_key());  // HTTP/1.1's pool will not have it
      auto h2 =
          std::make_shared<h2_connection>(std::move(conn), net::make_strand(backend.ioc), where);
      h2->start();
      backend.remember_protocol(key, protocol::http2);
      co_return h2;
    };
    if (!co_await backend.h2.get(h2_pool_key(u, via), st.connect_deadline(), probe)) {
      co_return std::nullopt;  // HTTP/1.1, on `conn` when the probe made it
    }
  }
  try {
    co_return co_await run_http2_hop(st, plan, where);
  } catch (const h2_declined&) {
  }
  co_return std::nullopt;  // the origin stopped speaking h2: HTTP/1.1 takes the hop
}

// Runs one hop on one connection, from `start` (a connection already taken, or the attempt
// after a stale one); a stale pooled connection is replaced by a fresh one.
net::awaitable<hop_result> run_hop(exchange_state& st, hop_plan& plan, hop_start start) {
  const courier::uri& u = plan.uri();
  detail::encoded_body& body = plan.body();
  const std::string where = host_port(u.host(), u.port());
  // http_version::any over TLS: ALPN offers h2 as well (the choice is remembered per origin).
  const bool offers_h2 =
      u.is_secure() && st.options.version.value_or(st.backend.options.version) == http_version::any;
  for (int attempt = start.attempt;; ++attempt) {
    // A stale pooled connection is found out by the first read and the request sent again on
    // a fresh one (below): possible for an idempotent request whose body can be replayed.
    const bool can_resend =
        attempt == 0 && is_idempotent(plan.method()) && (!body.source || body.source->replayable());
    std::unique_ptr<transport> conn = std::move(start.conn);
    if (!conn) conn = st.backend.take_idle(u, st.options, can_resend);
    if (!conn && offers_h2) {
      auto r = co_await try_alpn_hop(st, plan, where, can_resend, conn);
      if (r) co_return std::move(*r);
    }
    if (!conn) conn = co_await st.backend.connect(u, st.options, st.connect_deadline(), can_resend);
    if (st.on_caller_context) {
      conn->lend_to(co_await net::this_coro::executor);
    } else {
      conn->settle();  // idle on a coroutine's context since its last request
    }
    const bool may_retry = conn->requests_served > 0 && attempt == 0;
    try {
      if (body.source && attempt > 0) body.source->rewind();
      if (!body.source && st.on_caller_thread && conn->is_plain()) {
        co_return exchange_here(st, plan, conn, where, may_retry);  // a fresh connection
      }
      std::string head =
          build_http1_head(plan.method(), u, plan.fields(), body, st.backend.options, *conn);
      try {
        co_await write_request(st, *conn, head, body, where);
      } catch (const write_error&) {
        if (may_retry) throw connection_failure{};  // the server closed (and reset) it
        throw;
      }
      conn->head_storage = std::move(head);
      if (!st.on_caller_thread && conn->is_plain()) {
        // The answer cannot be there yet: reading now costs a recv() that finds nothing. The
        // context's other ready work runs first (other requests' writes and reads), which is
        // time the server takes to answer.
        co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
      }
      response_reader reader(st.backend, st.options, st.progress, *conn,
                             plan.method() == courier::method::head, st.dest, plan.response(),
                             where, may_retry);
      while (!reader.parse()) {
        boost::system::error_code ec;
        const auto space = reader.space();
        const std::size_t n =
            !conn->is_plain()     ? co_await read_before(*conn, space, st.io_limit(), ec)
            : st.on_caller_thread ? conn->read_some_here(space, st.io_limit(), ec)
                                  : co_await conn->read_some_within(space, st.io_limit(), ec);
        check_read_timeout(st, ec, where);
        reader.took(n, ec);
      }
      co_return reader.finish(conn);
    } catch (const connection_failure& failure) {
      st.backend.pool.release(std::move(conn), false);
      if (failure.request_sent && !is_idempotent(plan.method())) {
        throw_not_resent(plan.method(), where);
      }
      if (body.source && !body.source->rewindable()) {
        throw read_error("the reused connection to " + where +
                         " closed before answering, and the streamed request body cannot be "
                         "sent again on a fresh one (its stream_body has no rewind function)");
      }
      continue;  // a pooled connection the server had already closed: try a fresh one
    } catch (...) {
      if (conn) st.backend.pool.release(std::move(conn), false);
      throw;
    }
  }
}

// Whether a hop goes straight to the HTTP/2 hop, without run_hop's frame, which only HTTP/1.1
// needs: a frame is held as long as its request is in flight, and an HTTP/2 connection carries
// many at once. So does a request whose version says HTTP/2 and, under http_version::any, one
// to an https origin known to speak h2 (nor does it need try_alpn_hop's frame): should the
// origin stop speaking h2, the hop throws h2_declined and the exchange runs it again, through
// run_hop, which finds out anew.
bool goes_straight_to_http2(exchange_state& st, const courier::uri& u, const hop_start& start) {
  if (st.options.version || st.backend.options.version != http_version::any) [[unlikely]] {
    if (uses_http2(st.backend, st.options, u)) return true;
  }
  const bool any = st.options.version.value_or(st.backend.options.version) == http_version::any;
  return any && u.is_secure() && !start.conn && start.attempt == 0 && known_h2_origin(st, u);
}

// One hop as a coroutine.
net::awaitable<hop_result> start_hop(exchange_state& st, hop_plan& plan, hop_start start) {
  const courier::uri& u = plan.uri();
  if (goes_straight_to_http2(st, u, start)) {
    return run_http2_hop(st, plan, host_port(u.host(), u.port()));
  }
  return run_hop(st, plan, std::move(start));
}

// The async exchange, redirects included. Its hops run as callbacks while they can (an HTTP/2
// stream on a connection that is ready, no body to send: h2_callback_hop), which costs no
// coroutine frame; the first that cannot, and every hop after it, runs in one coroutine
// (run_rest). `backend` is held: an exchange on the caller's own io_context may outlive the
// asio_backend object (it then ends normally, and its connection is closed rather than pooled).
class async_exchange final : public h2_callback_hop::owner,
                             public std::enable_shared_from_this<async_exchange> {
 public:
  async_exchange(std::shared_ptr<asio_backend::impl> backend, request_data req,
                 body_destination dest, exchange_callback done, net::any_io_executor ex,
                 bool on_caller_context)
      : backend_(std::move(backend)),
        req_(std::move(req)),
        dest_(std::move(dest)),
        done_(std::move(done)),
        ex_(std::move(ex)),
        st_(*backend_, req_, dest_) {
    st_.on_caller_context = on_caller_context;
  }

  /// Starts the exchange on its executor. An emission on `cancel` (terminal or partial) ends
  /// it with operation_aborted: a callback hop resets its stream, a coroutine's connection is
  /// closed.
  void start(net::cancellation_slot cancel) {
    if (cancel.is_connected()) {
      cancel.emplace<relay>(relay{weak_from_this()});
      relayed_ = true;
    }
    // A hop that may run as callbacks starts on the executor, as it may end at once (a
    // handler is never called from inside the call that starts it); any other goes straight
    // to the coroutine, which co_spawn starts there.
    bool callbacks = false;
    try {
      plan_.emplace(req_, out_);
      callbacks = may_run_as_callbacks();
    } catch (...) {
      net::post(ex_,
                [self = shared_from_this(), e = std::current_exception()] { self->finish(e); });
      return;
    }
    if (!callbacks) return run_rest();
    net::post(ex_, [self = shared_from_this()] { self->next_hop(true); });
  }

  void hop_finished(std::exception_ptr e, hop_result r, bool unprocessed) override {
    in_callback_hop_ = false;
    if (e) return finish(e);
    if (unprocessed) return run_rest();  // the hop again, through run_h2_hop's retries
    try {
      if (plan_->take(std::move(r), st_)) return finish(nullptr);
    } catch (...) {
      return finish(std::current_exception());
    }
    next_hop(false);
  }

 private:
  // Relays the caller's cancellation to the exchange's executor; a late one does nothing.
  struct relay {
    std::weak_ptr<async_exchange> target;
    void operator()(net::cancellation_type type) const {
      if ((type & (net::cancellation_type::terminal | net::cancellation_type::partial)) ==
          net::cancellation_type::none) {
        return;
      }
      if (auto self = target.lock()) net::post(self->ex_, [self] { self->on_cancel(); });
    }
  };

  // `over_http2`: start() found that the hop goes over HTTP/2 and sends no body (once per hop:
  // it looks the origin up).
  void next_hop(bool over_http2) {
    if (cancel_requested_) return finish(cancelled());
    try {
      if (auto conn = callback_connection(over_http2)) {
        in_callback_hop_ = true;
        if (!callback_hop_) callback_hop_.emplace(ex_);
        callback_hop_->start(*h2_hop_, std::move(conn), shared_from_this());
        return;
      }
    } catch (...) {
      return finish(std::current_exception());
    }
    run_rest();
  }

  // The origin's HTTP/2 connection when the next hop can run as callbacks, with the hop made.
  std::shared_ptr<h2_connection> callback_connection(bool over_http2) {
    if (!over_http2 && !may_run_as_callbacks()) return nullptr;
    const courier::uri& u = plan_->uri();
    h2_hop_.emplace(make_h2_hop(st_, *plan_, host_port(u.host(), u.port())));
    return h2_callback_hop::ready_for(*h2_hop_);
  }

  // The next hop goes over HTTP/2 and sends no body: it runs as callbacks if its connection
  // is ready.
  bool may_run_as_callbacks() {
    return !plan_->body().source && goes_straight_to_http2(st_, plan_->uri(), hop_start{});
  }

  // The hops from here on, in one coroutine.
  void run_rest() {
    if (cancel_requested_) return finish(cancelled());
    in_coroutine_ = true;
    auto self = shared_from_this();
    auto done = [self](std::exception_ptr e, bool) {
      if (e && self->cancel_requested_) e = self->cancelled();
      self->finish(e);
    };
    if (!relayed_) {
      net::co_spawn(ex_, rest(self), std::move(done));
      return;
    }
    net::co_spawn(ex_, rest(self), net::bind_cancellation_slot(signal_.slot(), std::move(done)));
  }

  static net::awaitable<bool> rest(std::shared_ptr<async_exchange> self) {
    for (;;) {
      std::optional<hop_result> r;
      try {
        r.emplace(co_await start_hop(self->st_, *self->plan_, hop_start{}));
      } catch (const h2_declined&) {
        continue;  // nothing was sent: the hop again, over what the origin now speaks
      }
      if (self->plan_->take(std::move(*r), self->st_)) co_return true;
    }
  }

  void on_cancel() {
    if (finished_ || cancel_requested_) return;
    cancel_requested_ = true;
    if (in_callback_hop_) {
      callback_hop_->cancel();
    } else if (in_coroutine_) {
      // Every operation the coroutine awaits ends with operation_aborted, and so does every
      // later co_await (co_spawn's default filter accepts terminal cancellation).
      signal_.emit(net::cancellation_type::terminal);
    }
  }

  std::exception_ptr cancelled() {
    const auto u = req_.uri();
    bool over_http2 = false;  // then only the stream was reset
    try {
      over_http2 = plan_ && goes_straight_to_http2(st_, plan_->uri(), hop_start{});
    } catch (...) {
    }
    return std::make_exception_ptr(operation_aborted(
        "the request to " + (u ? host_port(u->host(), u->port()) : std::string("its server")) +
        " was cancelled before its response was complete; " +
        (over_http2 ? "its HTTP/2 stream was reset" : "its connection was closed")));
  }

  void finish(std::exception_ptr e) {
    finished_ = true;
    auto done = std::move(done_);
    std::move(done)(e, e ? raw_response{} : std::move(out_));
  }

  std::shared_ptr<asio_backend::impl> backend_;
  request_data req_;
  body_destination dest_;
  exchange_callback done_;
  net::any_io_executor ex_;
  raw_response out_;
  exchange_state st_;
  std::optional<hop_plan> plan_;
  std::optional<h2_hop> h2_hop_;                 // the callback hop's
  std::optional<h2_callback_hop> callback_hop_;  // made by the first (a timer costs a lookup)
  net::cancellation_signal signal_;              // to the coroutine, once the hops run in one
  bool relayed_ = false;                         // the caller's slot is connected to relay
  bool in_callback_hop_ = false;
  bool in_coroutine_ = false;
  bool cancel_requested_ = false;
  bool finished_ = false;
};

// Runs a coroutine hop to its end on the calling thread. Each thread keeps an io_context for
// this; a call made from inside another (from a progress callback, say) gets a fresh one, as
// run() may not nest on one context.
COURIER_COLD hop_result run_hop_here(exchange_state& st, hop_plan& plan, hop_start start) {
  struct caller_context {
    net::io_context ioc{1};
    bool busy = false;
  };
  thread_local caller_context mine;
  std::optional<net::io_context> nested;
  net::io_context& ioc = mine.busy ? nested.emplace(1) : mine.ioc;
  const bool owns_mine = !mine.busy;
  mine.busy = true;
  struct release_on_exit {
    caller_context& c;
    bool owns;
    ~release_on_exit() {
      if (owns) c.busy = false;
    }
  } release{mine, owns_mine};

  std::exception_ptr failure;
  std::optional<hop_result> result;
  net::co_spawn(ioc, start_hop(st, plan, std::move(start)),
                [&](std::exception_ptr e, hop_result r) {
                  failure = e;
                  if (!e) result.emplace(std::move(r));
                });
  ioc.restart();
  ioc.run();  // returns once the hop is done: its pending operations count as work
  if (failure) std::rethrow_exception(failure);
  if (!result) throw operation_aborted("the request was abandoned before it completed");
  return std::move(*result);
}

// Whether the io_context was made for one thread: io_context{1}, or a concurrency hint that
// turns the scheduler's locking off (a promise that one thread runs it).
bool runs_on_one_thread(net::io_context& ctx) {
  const int hint = net::use_service<net::detail::io_context_impl>(ctx).concurrency_hint();
  if (BOOST_ASIO_CONCURRENCY_HINT_IS_SPECIAL(hint)) {
    return !BOOST_ASIO_CONCURRENCY_HINT_IS_LOCKING(SCHEDULER, hint);
  }
  return hint == 1;
}

}  // namespace

void start_http_exchange(asio_backend::impl& backend, request_data req, body_destination dest,
                         exchange_callback done, const net::io_context::executor_type* caller,
                         net::cancellation_slot cancel) {
  const bool on_caller_context = caller && &caller->context() != &backend.ioc;
  // The exchange's handlers (its reads and writes, a timer, a relayed cancellation) must not
  // run at once. On a context that one thread runs they cannot, and a strand would only cost:
  // each completion would go through its queue, a second trip through the scheduler, and each
  // exchange would hold a strand of its own.
  // The backend's own context is run by one thread unless it was given more.
  net::any_io_executor strand =
      !on_caller_context
          ? (backend.options.threads <= 1 ? net::any_io_executor(backend.ioc.get_executor())
                                          : net::any_io_executor(net::make_strand(backend.ioc)))
      : runs_on_one_thread(caller->context()) ? net::any_io_executor(*caller)
                                              : net::any_io_executor(net::make_strand(*caller));
  auto exchange =
      std::make_shared<async_exchange>(backend.shared_from_this(), std::move(req), std::move(dest),
                                       std::move(done), std::move(strand), on_caller_context);
  exchange->start(cancel);
}

COURIER_HOT raw_response run_http_exchange_here(asio_backend::impl& backend,
                                                const request_data& req,
                                                const body_destination& dest) {
  exchange_state st(backend, req, dest);
  st.on_caller_thread = true;
  raw_response out;
  hop_plan plan(req, out);
  for (;;) {
    hop_start start;
    std::optional<hop_result> r = try_hop_here(st, plan, start);
    try {
      if (!r) r.emplace(run_hop_here(st, plan, std::move(start)));
    } catch (const h2_declined&) {
      continue;  // as in run_owned_exchange
    }
    if (plan.take(std::move(*r), st)) return out;
  }
}

}  // namespace courier::asio_detail
