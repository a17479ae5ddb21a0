// One HTTP request over the Asio backend, redirects included: the I/O loop that drives the
// sans-I/O HTTP/1.1 core (proto/http1) and the content decoders.
#include "asio/backend_impl.hpp"
#include "asio/stream_progress.hpp"
#include "asio/stream_response.hpp"

#include "core/body_encoder.hpp"
#include "core/content_decoder.hpp"
#include "proto/http1/request_writer.hpp"
#include "proto/http1/response_parser.hpp"

#include <courier/body_source.hpp>
#include <courier/error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <filesystem>
#include <random>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 misreads the coroutine frame's own operator new/delete pair in run_exchange as a
// mismatch (a false positive of its coroutine lowering).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace courier::asio_detail {

namespace http1 = courier::proto::http1;

boost::system::error_code code_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const courier::error& err) {
    return err.code();
  } catch (const std::bad_alloc&) {
    return make_error_code(errc::body_too_large);
  } catch (...) {
    return make_error_code(errc::protocol_error);
  }
}

namespace {

constexpr std::size_t read_buffer_size = 64 * 1024;  // per read of a streamed request body
// A response is read into a buffer that starts small (most answers fit) and doubles while
// reads fill it, as large bodies move faster in large reads.
constexpr std::size_t response_buffer_initial = 16 * 1024;
constexpr std::size_t response_buffer_max = 256 * 1024;
constexpr std::size_t max_redirect_drain = 64 * 1024;

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

// --- where body bytes go -------------------------------------------------------------------

class body_sink {
 public:
  virtual ~body_sink() = default;
  virtual void write(std::string_view data) = 0;
  virtual void finish() {}
};

class memory_sink final : public body_sink {
 public:
  memory_sink(std::string& out, std::size_t limit, std::string where)
      : out_(out), limit_(limit), where_(std::move(where)) {}
  void write(std::string_view data) override {
    if (out_.size() + data.size() > limit_) {
      throw body_too_large("the response body from " + where_ + " is larger than max_body_size (" +
                           std::to_string(limit_) +
                           " bytes); raise it with max_body_size() or read it as_file()");
    }
    out_.append(data);
  }

 private:
  std::string& out_;
  std::size_t limit_;
  std::string where_;
};

class discard_sink final : public body_sink {
 public:
  void write(std::string_view) override {}
};

// Writes to a temporary file beside the target and renames it into place when complete, so a
// failed download never leaves a partial file under the asked name.
class file_sink final : public body_sink {
 public:
  explicit file_sink(std::filesystem::path target) : target_(std::move(target)) {
    std::random_device rd;
    temp_ = target_;
    temp_ += ".courier-" + std::to_string(rd()) + ".part";
    file_ = std::fopen(temp_.c_str(), "wb");
    if (!file_) {
      throw file_error("cannot open " + target_.string() + " for writing: " + std::strerror(errno));
    }
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 16);
  }
  ~file_sink() override {
    if (file_) {
      std::fclose(file_);
      std::error_code ignored;
      std::filesystem::remove(temp_, ignored);
    }
  }
  void write(std::string_view data) override {
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      throw file_error("writing " + target_.string() + " failed: " + std::strerror(errno));
    }
  }
  void finish() override {
    int rc = std::fclose(file_);
    file_ = nullptr;
    std::error_code ec;
    if (rc != 0) {
      std::filesystem::remove(temp_, ec);
      throw file_error("writing " + target_.string() + " failed: " + std::strerror(errno));
    }
    std::filesystem::rename(temp_, target_, ec);
    if (ec) {
      std::filesystem::remove(temp_, ec);
      throw file_error("cannot move the download into " + target_.string() + ": " + ec.message());
    }
  }

 private:
  std::filesystem::path target_, temp_;
  std::FILE* file_ = nullptr;
};

// --- one request/response on one connection ------------------------------------------------

struct hop_result {
  response_head head;
  std::string body;       // the body when read to memory
  bool redirect = false;  // a redirect that will be followed: its body was dropped
  std::optional<std::string> location;
  std::shared_ptr<stream_response> stream;  // to_stream: the unread body, handed to the caller
};

bool is_redirect_status(int s) {
  return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

struct exchange_state {
  asio_backend::impl& backend;
  const request_options& options;            // the request's, which outlives the exchange
  std::optional<clock::time_point> overall;  // whole-request deadline
  const progress_callback* progress = nullptr;
  // A blocking call runs the exchange on its own thread, and on a plain connection moves the
  // bytes itself (transport::read_some_here) instead of handing each wait to an I/O thread.
  bool on_caller_thread = false;
  // An async exchange running on the caller's own io_context (a coroutine's): plain
  // connections are lent to it for the exchange (transport::lend_to).
  bool on_caller_context = false;

  clock::time_point io_deadline(std::chrono::milliseconds per_op) const {
    auto t = clock::now() + per_op;
    return overall ? std::min(t, *overall) : t;
  }
  clock::time_point connect_deadline() const { return io_deadline(options.connect_timeout); }
  [[noreturn]] void throw_timeout(const std::string& what_timed_out,
                                  std::chrono::milliseconds per_op,
                                  const std::string& where) const {
    if (overall && clock::now() >= *overall - std::chrono::milliseconds(1)) {
      throw timeout_error("request timeout: the whole exchange with " + where +
                          " took longer than " + ms(*options.timeout));
    }
    throw timeout_error(what_timed_out + " " + where + " for " + ms(per_op));
  }
};

std::string build_head(const courier::method& m, const courier::uri& u, const headers& given,
                       const detail::encoded_body& body, const asio_backend_options& opts,
                       const transport& conn) {
  const bool forwarding = conn.forwards_through_proxy();
  const std::string proxy_auth = forwarding ? conn.proxy_authorization() : std::string();
  // RFC 9112 3.2.2: a request to a forwarding proxy names the whole uri (never its userinfo).
  http1::request_head_writer w(
      m, forwarding ? std::string(u.scheme()) + "://" + u.authority() + u.target() : u.target());
  // The request's fields in order, less those replaced below; then the defaults it lacks.
  bool has_host = false, has_agent = false, has_accept = false, has_type = false;
  bool has_length = false;
  for (const header_field& f : given) {
    const std::string_view name = f.name;
    if (iequals(name, "Proxy-Authorization")) {
      // Through a tunnel the origin would see it: proxy credentials belong to CONNECT only.
      if ((conn.via() && !forwarding) || !proxy_auth.empty()) continue;
    } else if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) {
      if (body.source) continue;  // the body's own framing is written below
      has_length = has_length || iequals(name, "Content-Length");
    } else if (iequals(name, "Host")) {
      has_host = true;
    } else if (iequals(name, "User-Agent")) {
      has_agent = true;
    } else if (iequals(name, "Accept")) {
      has_accept = true;
    } else if (iequals(name, "Content-Type")) {
      has_type = true;
    }
    w.field(name, f.value);
  }
  if (!has_host) w.field("Host", u.authority());
  if (!has_agent && !opts.user_agent.empty()) w.field("User-Agent", opts.user_agent);
  if (!has_accept) w.field("Accept", "*/*");
  if (body.source) {
    if (!has_type && !body.content_type.empty()) w.field("Content-Type", body.content_type);
    if (auto size = body.source->size()) {
      w.field("Content-Length", std::to_string(*size));
    } else {
      w.field("Transfer-Encoding", "chunked");
    }
  } else if ((m == courier::method::post || m == courier::method::put ||
              m == courier::method::patch) &&
             !has_length) {
    w.field("Content-Length", "0");
  }
  if (!proxy_auth.empty()) w.field("Proxy-Authorization", proxy_auth);
  return w.finish();
}

// One write or read before `until`, reported as ec = timed_out when it passes. A blocking call
// on a plain connection does it on its own thread (one syscall when the socket is ready);
// otherwise the backend's reactor waits, and a timer cancels the socket at `until`.
net::awaitable<std::size_t> write_before(const exchange_state& st, transport& t,
                                         const std::vector<net::const_buffer>& buffers,
                                         clock::time_point until, boost::system::error_code& ec) {
  if (st.on_caller_thread && t.is_plain()) co_return t.write_here(buffers, until, ec);
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
  timer.arm(until, [p = &t] { p->cancel(); });
  std::size_t n = co_await t.write(rest, ec);
  timer.disarm();
  if (timer.expired()) ec = net::error::timed_out;
  co_return now + n;
}

net::awaitable<std::size_t> read_before(const exchange_state& st, transport& t,
                                        net::mutable_buffer buffer, clock::time_point until,
                                        boost::system::error_code& ec) {
  if (st.on_caller_thread && t.is_plain()) co_return t.read_some_here(buffer, until, ec);
  deadline timer(co_await net::this_coro::executor);
  timer.arm(until, [p = &t] { p->cancel(); });
  std::size_t n = co_await t.read_some(buffer, ec);
  timer.disarm();
  if (timer.expired()) ec = net::error::timed_out;
  co_return n;
}

// How a failed write of the request is reported.
void check_request_write(const exchange_state& st, const boost::system::error_code& ec,
                         const std::string& where) {
  if (ec == net::error::timed_out)
    st.throw_timeout("write timeout: could not send to", st.options.read_timeout, where);
  if (ec) throw write_error("sending the request to " + where + " failed: " + ec.message());
}

// write_request for a request without a body, sent from the caller's thread on a plain
// connection: one write, no coroutine.
void write_head_here(exchange_state& st, transport& t, const std::string& head,
                     const std::string& where) {
  boost::system::error_code ec;
  const std::vector<net::const_buffer> buffers{net::buffer(head)};
  t.write_here(buffers, st.io_deadline(st.options.read_timeout), ec);
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
  const auto* async_source = body.source ? body.source->async_reader() : nullptr;
  while (first || !body_done) {
    if (!first) buffers.clear();
    first = false;
    if (!body_done) {
      chunk.resize(read_buffer_size);
      std::size_t n = 0;
      try {
        if (async_source) {
          // A coroutine source sets the pace; its exceptions fail the request like a sync one's.
          std::size_t asked = body.source->async_read_limit(chunk.size());
          std::size_t got = 0;
          std::exception_ptr failure;
          if (asked > 0) {
            try {
              got = co_await async_source->read(std::span<char>(chunk.data(), asked));
            } catch (...) {
              failure = std::current_exception();
            }
          }
          if (failure) body.source->async_read_failed(failure);
          n = body.source->async_read_done(asked, got);
        } else {
          n = body.source->read(chunk.data(), chunk.size());
        }
      } catch (const body_source_error& e) {
        throw body_source_error(std::string(e.what()) + " (request to " + where + ")");
      }
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
    co_await write_before(st, t, buffers, st.io_deadline(st.options.read_timeout), ec);
    check_request_write(st, ec, where);
    if (pending_progress > 0) progress.add(pending_progress, clock::now());
    pending_progress = 0;
  }
  if (body.source) progress.finish();
}

std::unique_ptr<detail::content_decoder> decoder_for(const response_head& head,
                                                     const request_options& opts,
                                                     std::size_t limit) {
  if (!opts.decompress) return nullptr;
  auto enc = head.headers.get("Content-Encoding");
  if (!enc || enc->empty()) return nullptr;
  auto d = detail::content_decoder::make(*enc);
  if (d) d->set_max_output(limit);
  return d;
}

// The parser's errors say what was wrong; these say with whom.
std::size_t feed_parser(http1::response_parser& parser, std::string_view data,
                        const std::string& where) {
  try {
    return parser.feed(data);
  } catch (const protocol_error& e) {
    throw protocol_error("the response from " + where + " is not valid HTTP/1.1: " + e.what());
  } catch (const body_too_large& e) {
    throw body_too_large("the response from " + where + ": " + e.what());
  }
}

struct connection_failure {
  bool retryable = false;  // failed on a reused connection before any response byte arrived
};

// Runs one request on one connection. `allow_retry` reports a stale pooled connection.
net::awaitable<hop_result> run_hop(exchange_state& st, const courier::method& m,
                                   const courier::uri& u, const headers& hs,
                                   detail::encoded_body& body, const body_destination& dest,
                                   raw_body* final_body) {
  const std::string where = host_port(u.host(), u.port());
  const bool head_only = m == courier::method::head;
  for (int attempt = 0;; ++attempt) {
    // A stale pooled connection is found out by the first read and the request sent again on
    // a fresh one (below): possible unless the body cannot be replayed.
    const bool can_resend = attempt == 0 && (!body.source || body.source->replayable());
    auto conn = st.backend.take_idle(u, st.options, can_resend);
    if (!conn) conn = co_await st.backend.connect(u, st.options, st.connect_deadline(), can_resend);
    if (st.on_caller_context) conn->lend_to(co_await net::this_coro::executor);
    const bool reused = conn->requests_served > 0;
    bool any_response_byte = false;
    try {
      if (body.source && attempt > 0) body.source->rewind();
      std::string head = build_head(m, u, hs, body, st.backend.options, *conn);
      try {
        if (!body.source && st.on_caller_thread && conn->is_plain()) {
          write_head_here(st, *conn, head, where);  // no coroutine frame for the common case
        } else {
          co_await write_request(st, *conn, head, body, where);
        }
      } catch (const write_error&) {
        // A pooled connection the server closed (and reset) fails here rather than on read.
        if (reused && attempt == 0) throw connection_failure{true};
        throw;
      }

      // The connection's parser from its last response, prepared for this one; or a new one.
      http1::response_parser parser = [&] {
        const http1::parser_options options{st.options.max_header_size, head_only};
        if (!conn->idle_parser) return http1::response_parser(options);
        http1::response_parser kept = std::move(*std::exchange(conn->idle_parser, {}));
        kept.reset(options);
        return kept;
      }();
      hop_result result;
      std::unique_ptr<body_sink> sink;
      const bool to_stream_dest = std::holds_alternative<to_stream>(dest);
      bool streaming = false;  // the final head arrived for as_stream: hand out the rest
      std::string early_body;  // body bytes parsed along with the head, for the stream
      std::optional<std::uint64_t> content_length;
      progress_reporter progress(st.progress, transfer_progress::direction::download,
                                 st.options.progress_interval);
      std::unique_ptr<detail::content_decoder> decoder;
      std::string decoded;
      std::size_t drained = 0;
      bool keep_alive = false;
      bool complete = false;

      std::vector<char> buffer = std::move(conn->read_buffer);
      if (buffer.size() < response_buffer_initial) buffer.resize(response_buffer_initial);
      std::size_t buffered = 0;  // bytes in buffer not yet consumed by the parser
      bool eof = false;

      auto deliver = [&](std::string_view data) {
        if (result.redirect) {
          drained += data.size();
          return;
        }
        if (streaming) {
          early_body.append(data);  // counted for progress by the stream
          return;
        }
        progress.add(data.size(), clock::now());
        if (decoder) {
          decoded.clear();
          decoder->decode(data, decoded);
          sink->write(decoded);
        } else {
          sink->write(data);
        }
      };

      auto drain = [&] {
        while (auto ev = parser.next_event()) {
          if (auto* h = std::get_if<http1::head_event>(&*ev)) {
            result.head.status = h->status;
            result.head.reason = std::move(h->reason);
            result.head.headers = std::move(h->headers);
            keep_alive = h->keep_alive;
            auto loc = result.head.headers.get("Location");
            if (st.options.follow_redirects && is_redirect_status(h->status) && loc) {
              result.redirect = true;
              result.location = std::string(*loc);
              // A large redirect body is not worth reading: close the connection instead.
              if (!h->content_length || *h->content_length > max_redirect_drain) keep_alive = false;
              if (!keep_alive) {
                complete = true;
                break;
              }
              continue;
            }
            std::size_t limit = st.options.max_body_size;
            content_length = h->content_length;
            progress.set_total(h->content_length);
            // A forwarding proxy's 407 is the proxy's answer, not the origin's body: read it to
            // memory for the proxy_error that follows, never into the caller's file or stream.
            const bool proxy_refusal = h->status == 407 && conn->forwards_through_proxy();
            if (proxy_refusal) {
              sink =
                  std::make_unique<memory_sink>(final_body->bytes, st.options.max_body_size, where);
            } else if (to_stream_dest) {
              streaming = true;  // the caller pulls the body; it is not held whole
              limit = std::numeric_limits<std::size_t>::max();
            } else if (std::holds_alternative<to_file>(dest)) {
              sink = std::make_unique<file_sink>(std::get<to_file>(dest).path);
              limit = std::numeric_limits<std::size_t>::max();
            } else if (std::holds_alternative<to_discard>(dest)) {
              sink = std::make_unique<discard_sink>();
              limit = std::numeric_limits<std::size_t>::max();
            } else {
              sink =
                  std::make_unique<memory_sink>(final_body->bytes, st.options.max_body_size, where);
              if (h->content_length && *h->content_length <= limit) {
                final_body->bytes.reserve(*h->content_length);
              }
            }
            decoder = decoder_for(result.head, st.options, limit);
            if (decoder) {
              // The body given to the user is decoded: its old framing headers no longer apply.
              result.head.headers.erase("Content-Encoding");
              result.head.headers.erase("Content-Length");
            }
          } else if (auto* b = std::get_if<http1::body_event>(&*ev)) {
            any_response_byte = true;
            deliver(b->data);
          } else if (auto* e = std::get_if<http1::end_event>(&*ev)) {
            keep_alive = keep_alive && e->keep_alive;
            complete = true;
            break;
          }
        }
      };

      while (!complete) {
        if (buffered > 0) {
          std::size_t used = feed_parser(parser, std::string_view(buffer.data(), buffered), where);
          drain();  // body events are views into `buffer`: use them before shifting it
          std::memmove(buffer.data(), buffer.data() + used, buffered - used);
          buffered -= used;
        } else {
          drain();
        }
        if (complete || streaming) break;
        if (eof) {
          try {
            parser.feed_eof();  // completes a close-delimited body, or throws read_error
          } catch (const read_error& e) {
            throw read_error("reading the response from " + where + " failed: " + e.what());
          }
          drain();
          if (complete) break;
          throw read_error("the connection to " + where + " closed before the response ended");
        }
        if (buffered == buffer.size()) buffer.resize(buffer.size() * 2);  // a huge header
        boost::system::error_code ec;
        const auto space = net::buffer(buffer.data() + buffered, buffer.size() - buffered);
        const auto until = st.io_deadline(st.options.read_timeout);
        // A blocking call on a plain connection reads here, without a coroutine frame.
        std::size_t n = st.on_caller_thread && conn->is_plain()
                            ? conn->read_some_here(space, until, ec)
                            : co_await read_before(st, *conn, space, until, ec);
        if (ec == net::error::timed_out) {
          st.throw_timeout("read timeout: no data from", st.options.read_timeout, where);
        }
        if (n > 0) any_response_byte = true;
        const bool filled = n == buffer.size() - buffered;
        buffered += n;
        if (filled && buffer.size() < response_buffer_max) buffer.resize(buffer.size() * 2);
        if (ec) {
          if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
            if (!any_response_byte && reused && attempt == 0) throw connection_failure{true};
            eof = true;
          } else if (!any_response_byte && reused && attempt == 0) {
            throw connection_failure{true};
          } else {
            throw read_error("reading the response from " + where + " failed: " + ec.message());
          }
        }
      }
      if (streaming) {
        // The rest of the body is read only as the caller asks for it (stream_response), on
        // the backend's I/O threads.
        conn->settle();
        stream_response_parts parts{st.backend.shared_from_this(),
                                    std::move(conn),
                                    std::move(parser),
                                    std::move(buffer),
                                    buffered,
                                    std::move(early_body),
                                    std::move(decoder),
                                    keep_alive,
                                    complete,
                                    eof,
                                    where,
                                    st.options.read_timeout,
                                    content_length,
                                    st.progress ? *st.progress : progress_callback{},
                                    st.options.progress_interval};
        result.stream = std::make_shared<stream_response>(std::move(parts));
        co_return result;
      }
      if (!result.redirect) {
        if (decoder) {
          decoded.clear();
          decoder->finish(decoded);
          sink->write(decoded);
        }
        if (sink) sink->finish();
        progress.finish();
      }
      conn->requests_served++;
      if (buffer.size() > response_buffer_initial * 4) {
        buffer.resize(response_buffer_initial);
        buffer.shrink_to_fit();  // an idle connection keeps a small buffer
      }
      conn->read_buffer = std::move(buffer);
      conn->idle_parser = std::move(parser);
      // Bytes after the end of the response mean the peer and we disagree on framing.
      st.backend.pool.release(std::move(conn), keep_alive && complete && buffered == 0);
      co_return result;
    } catch (const connection_failure&) {
      st.backend.pool.release(std::move(conn), false);
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

// `req` and `dest` must outlive the exchange: a blocking send's caller keeps them, and the
// async entry points go through run_owned_exchange, which holds copies. The response is
// built in `out` (a response is large: every move of it costs).
net::awaitable<void> run_exchange(asio_backend::impl& backend, const request_data& req,
                                  const body_destination& dest, bool on_caller_thread,
                                  bool on_caller_context, raw_response& out) {
  exchange_state st{backend,        req.options(),    std::nullopt,
                    req.progress(), on_caller_thread, on_caller_context};
  if (req.options().timeout) st.overall = clock::now() + *req.options().timeout;

  auto first_uri = req.uri();
  if (!first_uri) {
    throw invalid_request("the request has no uri: call get(uri), post(uri) or method(m, uri)");
  }
  courier::uri& current = *first_uri;
  courier::method m = req.method();
  // The request's own headers until a redirect changes them (most requests have none).
  std::optional<headers> changed_headers;
  const headers* hs = &req.headers();
  auto edit_headers = [&]() -> headers& {
    if (!changed_headers) hs = &changed_headers.emplace(req.headers());
    return *changed_headers;
  };
  detail::encoded_body body = detail::encode_body(req.body());

  for (int hop = 0;; ++hop) {
    if (current.scheme() != "http" && current.scheme() != "https") {
      throw invalid_request("unsupported scheme \"" + std::string(current.scheme()) + "\" in " +
                            current.str() +
                            (current.scheme() == "ws" || current.scheme() == "wss"
                                 ? ": use open_websocket() for WebSocket uris"
                                 : ": the asio backend speaks http and https"));
    }
    out.body.bytes.clear();
    hop_result r = co_await run_hop(st, m, current, *hs, body, dest, &out.body);
    st.backend.check_forwarded_answer(current, st.options, r.head, out.body.bytes);
    if (!r.redirect) {
      out.head = std::move(r.head);
      out.body.stream = std::move(r.stream);
      out.final_uri = std::move(current);
      co_return;
    }
    if (hop >= st.options.max_redirects) {
      throw too_many_redirects("stopped after " + std::to_string(st.options.max_redirects) +
                               " redirects; the last one, from " + current.str() + ", pointed to " +
                               *r.location);
    }
    courier::uri next = current.resolve(*r.location);
    out.history.push_back(redirect_record{m, current, r.head});
    const int status = r.head.status;
    // RFC 9110 15.4: 303 means "GET it over there"; browsers and curl do the same for a POST
    // answered by 301 or 302. 307 and 308 repeat the request as it was.
    bool to_get = (status == 303 && m != courier::method::head) ||
                  ((status == 301 || status == 302) && m == courier::method::post);
    if (to_get) {
      m = courier::method::get;
      body = detail::encoded_body{};
      headers& h = edit_headers();
      h.erase("Content-Type");
      h.erase("Content-Length");
      h.erase("Transfer-Encoding");
    } else if (body.source) {
      body.source->rewind();
    }
    if (next.origin() != current.origin()) {
      // Credentials were meant for the first origin only.
      headers& h = edit_headers();
      h.erase("Authorization");
      h.erase("Cookie");
      h.erase("Proxy-Authorization");
      h.erase("Host");
    }
    // The next hop's proxy is chosen again from the settings (NO_PROXY included) by connect().
    current = std::move(next);
  }
}

net::awaitable<raw_response> run_owned_exchange(asio_backend::impl& backend, request_data req,
                                                body_destination dest, bool on_caller_context) {
  raw_response out;
  co_await run_exchange(backend, req, dest, false, on_caller_context, out);
  co_return out;
}

}  // namespace

void start_http_exchange(asio_backend::impl& backend, request_data req, body_destination dest,
                         exchange_callback done, const net::io_context::executor_type* caller) {
  auto finish = [done = std::move(done)](std::exception_ptr e, raw_response r) {
    done(e, std::move(r));
  };
  if (caller && &caller->context() != &backend.ioc) {
    net::co_spawn(net::make_strand(*caller),
                  run_owned_exchange(backend, std::move(req), std::move(dest), true),
                  std::move(finish));
    return;
  }
  net::co_spawn(net::make_strand(backend.ioc),
                run_owned_exchange(backend, std::move(req), std::move(dest), false),
                std::move(finish));
}

raw_response run_http_exchange_here(asio_backend::impl& backend, const request_data& req,
                                    const body_destination& dest) {
  // Each thread keeps an io_context for its blocking calls; a call made from inside another
  // (from a progress callback, say) gets a fresh one, as run() may not nest on one context.
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
  bool finished = false;
  raw_response out;
  net::co_spawn(ioc, run_exchange(backend, req, dest, true, false, out), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  ioc.restart();
  ioc.run();  // returns once the exchange is done: its pending operations count as work
  if (failure) std::rethrow_exception(failure);
  if (!finished) throw operation_aborted("the request was abandoned before it completed");
  return out;
}

}  // namespace courier::asio_detail
