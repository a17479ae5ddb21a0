// Opening a WebSocket on the Asio backend: connect, the HTTP/1.1 upgrade (driving the
// sans-I/O HTTP parser and the WebSocket handshake validator), then a ws_session.
#include "asio/ws/ws_open.hpp"

#include "asio/backend_impl.hpp"
#include "asio/spawned_cancellation.hpp"
#include "asio/ws/ws_handlers.hpp"
#include "asio/ws/ws_session.hpp"

#include "core/http_grammar.hpp"
#include "proto/http1/request_writer.hpp"
#include "proto/http1/response_parser.hpp"
#include "proto/ws/handshake.hpp"

#include <courier/error.hpp>
#include <courier/ws/errors.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <future>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 misreads the coroutine frame's own operator new/delete pair in run_upgrade as a
// mismatch (a false positive of its coroutine lowering).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace courier {

namespace asio_detail {
namespace {

namespace http1 = courier::proto::http1;
namespace pws = courier::proto::ws;

constexpr std::size_t max_refusal_body = 64 * 1024;

struct upgraded {
  std::shared_ptr<ws_session> session;
  response_head head;
  std::optional<std::string> subprotocol;
  bool deflate = false;
  std::string initial;  // bytes after the 101 response: the first frames
};

pws::handshake_offer make_offer(const request_data& req, const ws::connection_options& o) {
  pws::handshake_offer offer;
  offer.subprotocols = o.subprotocols;
  // A Sec-WebSocket-Protocol header on the request offers subprotocols too (as in sttp).
  for (auto v : req.headers().get_all("Sec-WebSocket-Protocol")) {
    for (auto p : detail::split_list(v)) {
      // Offered once, even when also named in the options.
      if (std::find(offer.subprotocols.begin(), offer.subprotocols.end(), p) ==
          offer.subprotocols.end()) {
        offer.subprotocols.emplace_back(p);
      }
    }
  }
  if (o.compression) {
    pws::deflate_offer d;
    d.client_no_context_takeover = o.compression->client_no_context_takeover;
    d.server_no_context_takeover = o.compression->server_no_context_takeover;
    d.client_max_window_bits = o.compression->client_max_window_bits;
    d.server_max_window_bits = o.compression->server_max_window_bits;
    offer.deflate = d;
  }
  return offer;
}

// The asio backend's stream for a WebSocket: a connection of its own, never a pooled one.
// Through the proxy the request (or the backend) chooses; ws:// too goes through a tunnel.
net::awaitable<std::unique_ptr<byte_stream>> connect_transport(asio_backend::impl& backend,
                                                               courier::uri u, request_options ro,
                                                               clock::time_point until) {
  auto ex = co_await net::this_coro::executor;
  co_return co_await backend.connect_unpooled(ex, u, ro, until);
}

net::awaitable<upgraded> run_upgrade(asio_backend::impl& backend, request_data req,
                                     ws::connection_options wopts, bool auto_pong,
                                     stream_connector connect) {
  auto first = req.uri();
  if (!first) {
    throw invalid_request("the WebSocket request has no uri: call get(uri) first");
  }
  courier::uri u = *first;
  const auto scheme = u.scheme();
  if (scheme != "ws" && scheme != "wss" && scheme != "http" && scheme != "https") {
    throw invalid_request("unsupported scheme \"" + std::string(scheme) + "\" for a WebSocket in " +
                          u.str() + ": use ws://, wss://, http:// or https://");
  }
  if (req.method() != courier::method::get) {
    throw invalid_request("a WebSocket upgrade is a GET request, not " + req.method().name());
  }
  const std::string where = host_port(u.host(), u.port());
  const auto& opts = req.options();
  auto deadline_at = [&](std::chrono::milliseconds d) {
    auto t = asio_detail::after(clock::now(), d);
    return opts.timeout ? std::min(t, asio_detail::after(clock::now(), *opts.timeout)) : t;
  };

  auto ex = co_await net::this_coro::executor;
  if (!connect) {
    connect = [&backend, ro = opts](const courier::uri& to, clock::time_point until) {
      return connect_transport(backend, to, ro, until);
    };
  }
  std::unique_ptr<byte_stream> t = co_await connect(u, deadline_at(opts.connect_timeout));

  const std::string key = pws::make_client_key();
  const auto offer = make_offer(req, wopts);
  headers h = req.headers();
  h.erase("Sec-WebSocket-Protocol");
  h.erase("Accept-Encoding");      // meaningless for an upgrade
  h.erase("Proxy-Authorization");  // for a proxy only; the tunnel already carried it
  for (const auto& f : pws::upgrade_request_headers(key, offer))
    h.add_unchecked(f.name, f.value);
  if (!h.contains("Host")) h.add("Host", u.authority());
  if (!h.contains("User-Agent") && !backend.options.user_agent.empty()) {
    h.add("User-Agent", backend.options.user_agent);
  }
  const std::string head = http1::serialize_request_head(courier::method::get, u.target(), h);

  deadline timer(ex);
  boost::system::error_code ec;
  timer.arm(deadline_at(opts.read_timeout), [p = t.get()] { p->cancel(); });
  const std::vector<net::const_buffer> head_buffers{net::buffer(head)};
  co_await t->write(head_buffers, ec);
  timer.disarm();
  if (timer.expired()) throw timeout_error("write timeout: could not send the upgrade to " + where);
  if (ec)
    throw write_error("sending the WebSocket upgrade to " + where + " failed: " + ec.message());

  http1::response_parser parser(http1::parser_options{opts.max_header_size, false});
  std::vector<char> buffer(16 * 1024);
  std::size_t buffered = 0;
  std::optional<http1::head_event> got;
  std::string refusal_body;
  bool done = false, eof = false;
  auto drain = [&] {
    while (auto ev = parser.next_event()) {
      if (auto* hd = std::get_if<http1::head_event>(&*ev)) {
        got = std::move(*hd);
        if (got->status == 101) done = true;
      } else if (auto* b = std::get_if<http1::body_event>(&*ev)) {
        if (refusal_body.size() < max_refusal_body) {
          refusal_body.append(b->data.substr(0, max_refusal_body - refusal_body.size()));
        }
      } else {
        done = true;
      }
      if (done) break;
    }
  };
  while (!done) {
    if (buffered > 0) {
      std::size_t used = parser.feed(std::string_view(buffer.data(), buffered));
      drain();  // body events are views into `buffer`: use them before shifting it
      std::memmove(buffer.data(), buffer.data() + used, buffered - used);
      buffered -= used;
    } else if (eof) {
      parser.feed_eof();
      drain();
    }
    if (done) break;
    if (eof) {
      throw read_error("the connection to " + where + " closed before the upgrade was answered");
    }
    if (buffered == buffer.size()) buffer.resize(buffer.size() * 2);
    timer.arm(deadline_at(opts.read_timeout), [p = t.get()] { p->cancel(); });
    std::size_t n =
        co_await t->read_some(net::buffer(buffer.data() + buffered, buffer.size() - buffered), ec);
    timer.disarm();
    if (timer.expired()) {
      throw timeout_error("read timeout: " + where +
                          " did not answer the WebSocket upgrade within " +
                          std::to_string(opts.read_timeout.count()) + " ms");
    }
    buffered += n;
    if (ec) {
      if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
        eof = true;
      } else {
        throw read_error("reading the upgrade response from " + where + " failed: " + ec.message());
      }
    }
  }

  response_head rh{got->status, got->reason, got->headers, http_version::http1_1, {}};
  if (got->status != 101) {
    throw websocket_upgrade_failed("the server at " + where + " refused the WebSocket upgrade of " +
                                       u.str() + " with " + std::to_string(got->status) + " " +
                                       got->reason,
                                   got->status, got->headers, std::move(refusal_body));
  }
  auto accepted = pws::validate_upgrade_response(got->status, got->headers, key, offer);
  if (!accepted) {
    throw websocket_upgrade_failed(
        "the WebSocket upgrade answer from " + where + " is invalid: " + accepted.error(),
        got->status, got->headers, {});
  }

  pws::connection_options core;
  core.max_message_size = wopts.max_message_size;
  core.deflate = accepted->deflate;
  core.auto_pong = auto_pong;
  core.fragment_size = wopts.fragment_size;
  upgraded out;
  out.head = std::move(rh);
  out.subprotocol = accepted->subprotocol;
  out.deflate = accepted->deflate.has_value();
  out.initial.assign(buffer.data(), buffered);
  out.session = std::make_shared<ws_session>(
      ws_strand(net::any_io_executor(backend.ioc.get_executor())), std::move(t), core,
      std::move(wopts), where, backend.session_time);
  backend.track(out.session);
  co_return out;
}

template <class Value>
websocket_response<Value> make_response(upgraded& up, Value v) {
  websocket_response<Value> r;
  r.status = up.head.status;
  r.reason = up.head.reason;
  r.headers = up.head.headers;
  r.subprotocol = up.subprotocol;
  r.result = std::move(v);
  return r;
}

using open_callback = std::function<void(std::exception_ptr, upgraded)>;

// `cancel`: the async caller's cancellation slot. A cancelled upgrade ends at its next wait and
// its half-open connection is closed as the coroutine unwinds.
void start_upgrade(asio_backend::impl& backend, request_data req, ws::connection_options o,
                   bool auto_pong, stream_connector connect, open_callback done,
                   net::cancellation_slot cancel = {}) {
  auto u = req.uri();
  co_spawn_cancellable(
      net::make_strand(backend.ioc),
      run_upgrade(backend, std::move(req), std::move(o), auto_pong, std::move(connect)), cancel,
      net::cancellation_type::terminal | net::cancellation_type::partial,
      [u = std::move(u)] {
        return std::make_exception_ptr(
            operation_aborted("opening the WebSocket to " +
                              (u ? host_port(u->host(), u->port()) : std::string("its server")) +
                              " was cancelled; the half-open connection was closed"));
      },
      std::move(done));
}

websocket_response<ws::websocket> finish_high_level(asio_backend::impl& backend, upgraded& up,
                                                    const ws::high_level& handler) {
  auto st = std::make_shared<ws::websocket::state>(up.session, handler.options, up.head.headers,
                                                   up.subprotocol, up.deflate,
                                                   backend.shared_from_this());
  auto session = up.session;
  auto initial = std::move(up.initial);
  std::weak_ptr<ws_event_sink> sink = st;
  net::dispatch(session->strand(), [session, sink, initial = std::move(initial)]() mutable {
    session->start(sink, false, std::move(initial));
  });
  return make_response(up, ws::websocket(st));
}

websocket_response<ws::sender> finish_low_level(asio_backend::impl& backend, upgraded& up,
                                                const ws::low_level& handler) {
  auto sender_state = std::make_shared<ws::sender::state>();
  sender_state->session = up.session;
  sender_state->backend = backend.shared_from_this();
  ws::sender out(sender_state);
  auto sink = std::make_shared<listener_sink>(handler.listener, out);
  auto session = up.session;
  auto initial = std::move(up.initial);
  // on_open runs on the strand before any frame is delivered.
  net::dispatch(session->strand(), [session, sink, initial = std::move(initial)]() mutable {
    try {
      sink->listener()->on_open(sink->sender());
    } catch (...) {
    }
    session->start(std::weak_ptr<ws_event_sink>(sink), true, std::move(initial));
  });
  return make_response(up, std::move(out));
}

template <class Handler, class Value>
void complete_async(
    asio_backend::impl& backend,
    boost::asio::any_completion_handler<void(std::exception_ptr, websocket_response<Value>)> h,
    std::exception_ptr e, std::function<websocket_response<Value>()> make) {
  websocket_response<Value> r;
  if (!e) {
    try {
      r = make();
    } catch (...) {
      e = std::current_exception();
    }
  }
  auto ex = net::get_associated_executor(h, backend.ioc.get_executor());
  net::dispatch(
      ex, [h = std::move(h), e, r = std::move(r)]() mutable { std::move(h)(e, std::move(r)); });
}

}  // namespace
}  // namespace asio_detail

namespace asio_detail {
namespace {

// What differs between the two handlers, so that opening is written once.
const ws::connection_options& connection_of(const ws::high_level& h) {
  return h.options.connection;
}
const ws::connection_options& connection_of(const ws::low_level& h) {
  return h.connection;
}
bool auto_pong_of(const ws::high_level& h) {
  return h.options.auto_pong;
}
bool auto_pong_of(const ws::low_level& h) {
  return h.auto_pong;
}
void check_handler(const ws::high_level&) {}
void check_handler(const ws::low_level& h) {
  if (!h.listener) throw invalid_request("ws::low_level needs a listener");
}
websocket_response<ws::websocket> finish_open(asio_backend::impl& b, upgraded& up,
                                              const ws::high_level& h) {
  return finish_high_level(b, up, h);
}
websocket_response<ws::sender> finish_open(asio_backend::impl& b, upgraded& up,
                                           const ws::low_level& h) {
  return finish_low_level(b, up, h);
}

template <class Handler>
websocket_response<typename Handler::value_type> open_sync(asio_backend::impl& backend,
                                                           const request_data& req,
                                                           const Handler& handler,
                                                           stream_connector connect) {
  check_handler(handler);
  backend.check_blocking_allowed("open_websocket()");
  std::promise<upgraded> promise;
  auto fut = promise.get_future();
  start_upgrade(backend, req, connection_of(handler), auto_pong_of(handler), std::move(connect),
                [&promise](std::exception_ptr e, upgraded u) {
                  if (e) {
                    promise.set_exception(e);
                  } else {
                    promise.set_value(std::move(u));
                  }
                });
  auto up = fut.get();
  return finish_open(backend, up, handler);
}

template <class Handler, class Done>
void open_async(std::shared_ptr<asio_backend::impl> impl, const request_data& req,
                const Handler& handler, Done done, stream_connector connect) {
  using value = typename Handler::value_type;
  auto done_ex = boost::asio::get_associated_executor(done, impl->ioc.get_executor());
  auto work = std::make_shared<boost::asio::executor_work_guard<decltype(done_ex)>>(done_ex);
  const auto cancel = done.get_cancellation_slot();
  auto shared = std::make_shared<Done>(std::move(done));
  start_upgrade(
      *impl, req, connection_of(handler), auto_pong_of(handler), std::move(connect),
      [impl, handler, shared, work](std::exception_ptr e, upgraded up) mutable {
        complete_async<Handler, value>(*impl, std::move(*shared), e, [&] {
          check_handler(handler);
          return finish_open(*impl, up, handler);
        });
        work->reset();
      },
      cancel);
}

}  // namespace

websocket_response<ws::websocket> open_websocket_over(asio_backend::impl& backend,
                                                      const request_data& req,
                                                      const ws::high_level& handler,
                                                      stream_connector connect) {
  return open_sync(backend, req, handler, std::move(connect));
}

websocket_response<ws::sender> open_websocket_over(asio_backend::impl& backend,
                                                   const request_data& req,
                                                   const ws::low_level& handler,
                                                   stream_connector connect) {
  return open_sync(backend, req, handler, std::move(connect));
}

void async_open_websocket_over(std::shared_ptr<asio_backend::impl> backend, const request_data& req,
                               const ws::high_level& handler,
                               asio_backend::ws_open_handler<ws::high_level> done,
                               stream_connector connect) {
  open_async(std::move(backend), req, handler, std::move(done), std::move(connect));
}

void async_open_websocket_over(std::shared_ptr<asio_backend::impl> backend, const request_data& req,
                               const ws::low_level& handler,
                               asio_backend::ws_open_handler<ws::low_level> done,
                               stream_connector connect) {
  open_async(std::move(backend), req, handler, std::move(done), std::move(connect));
}

}  // namespace asio_detail

websocket_response<ws::websocket> asio_backend::open_websocket(const request_data& req,
                                                               const ws::high_level& handler) {
  return asio_detail::open_websocket_over(*impl_, req, handler, nullptr);
}

websocket_response<ws::sender> asio_backend::open_websocket(const request_data& req,
                                                            const ws::low_level& handler) {
  return asio_detail::open_websocket_over(*impl_, req, handler, nullptr);
}

void asio_backend::async_open_websocket_raw(const request_data& req, const ws::high_level& handler,
                                            ws_open_handler<ws::high_level> done) {
  asio_detail::async_open_websocket_over(impl_, req, handler, std::move(done), nullptr);
}

void asio_backend::async_open_websocket_raw(const request_data& req, const ws::low_level& handler,
                                            ws_open_handler<ws::low_level> done) {
  asio_detail::async_open_websocket_over(impl_, req, handler, std::move(done), nullptr);
}

}  // namespace courier
