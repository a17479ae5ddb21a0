// courier's clients: sync (blocking calls on the caller's thread) and async (C++20 coroutines
// on an io_context; courier's I/O runs on the backend's own thread either way).
#include "bench_client.hpp"

#include <courier/courier.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

namespace bench {
namespace {

namespace cr = courier;
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

cr::ws::high_level ws_handler() {
  cr::ws::high_level h;
  h.options.connection.max_message_size = std::size_t{64} << 20;
  h.options.connection.max_outgoing_bytes = std::size_t{64} << 20;
  return h;
}

std::string ws_url(const workload& w) {
  return "ws://" + w.host + ":" + std::to_string(w.ws_port) + "/";
}
std::string http_url(const workload& w) {
  return "http://" + w.host + ":" + std::to_string(w.http_port) + w.path;
}

cr::asio_backend_options backend_options(const workload& w) {
  cr::asio_backend_options o;
  o.max_connections_per_origin = static_cast<std::size_t>(std::max(1, w.connections));
  return o;
}

cr::ws::frame data_frame(const workload& w, std::string payload) {
  return w.name == "ws_text" ? cr::ws::frame::text(std::move(payload))
                             : cr::ws::frame::binary(std::move(payload));
}

// --- sync -------------------------------------------------------------------------------------

outcome ws_sync(const workload& w) {
  cr::asio_backend backend;
  auto ws =
      cr::basic_request().get(cr::uri(ws_url(w))).open_websocket(backend, ws_handler()).result;
  const std::string& payload = w.payload;
  outcome out;
  if (w.name == "ws_latency") {
    out.latencies_us.reserve(static_cast<std::size_t>(w.count));
    for (long i = 0; i < w.count; ++i) {
      check_deadline(w);
      const auto t0 = clock::now();
      ws.send(data_frame(w, payload));
      auto m = ws.receive_message();
      out.latencies_us.push_back(
          std::chrono::duration<double, std::micro>(clock::now() - t0).count());
      if (m.data.size() != w.size) throw std::runtime_error("short echo");
    }
  } else if (w.name == "ws_pipeline") {
    long sent = 0;
    for (; sent < std::min<long>(w.in_flight, w.count); ++sent)
      ws.send(data_frame(w, payload));
    for (long got = 0; got < w.count; ++got) {
      check_deadline(w);
      auto m = ws.receive_message();
      if (m.data.size() != w.size) throw std::runtime_error("short echo");
      if (sent < w.count) {
        ws.send(data_frame(w, std::move(m.data)));  // the echo goes out again, no copy
        ++sent;
      }
    }
  } else {  // ws_binary, ws_text: one large message in flight, echoed back each time
    std::string next = payload;
    for (long i = 0; i < w.count; ++i) {
      check_deadline(w);
      ws.send(data_frame(w, std::move(next)));
      next = std::move(ws.receive_message().data);
      if (next.size() != w.size) throw std::runtime_error("short echo");
    }
  }
  out.ops = w.count;
  out.bytes = static_cast<std::uint64_t>(w.count) * w.size;
  ws.close();
  return out;
}

outcome ws_idle(const workload& w) {
  cr::asio_backend backend;
  std::vector<cr::ws::websocket> open;
  open.reserve(static_cast<std::size_t>(w.count));
  // One connection first, so that lazily made state (threads, TLS context) is not counted.
  open.push_back(
      cr::basic_request().get(cr::uri(ws_url(w))).open_websocket(backend, ws_handler()).result);
  const double before = current_rss_kib();
  for (long i = 1; i < w.count; ++i) {
    check_deadline(w);
    open.push_back(
        cr::basic_request().get(cr::uri(ws_url(w))).open_websocket(backend, ws_handler()).result);
  }
  const double after = current_rss_kib();
  outcome out;
  out.ops = w.count;
  out.idle_rss_kib = (after - before) / static_cast<double>(w.count - 1);
  for (auto& ws : open)
    if (!ws.is_open()) throw std::runtime_error("an idle websocket was closed");
  return out;
}

// w.count blocking sends of `req` from `threads` threads sharing `backend` (one is the calling
// thread), each response checked by `check`; the first failure stops them all and is thrown.
// Returns the body bytes received.
template <class Request, class Check>
std::uint64_t send_from_threads(cr::asio_backend& backend, const Request& req, const workload& w,
                                int threads, Check check) {
  std::atomic<long> next{0};
  std::atomic<std::uint64_t> bytes{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    try {
      while (next.fetch_add(1) < w.count) {
        check_deadline(w);
        auto r = backend.send(req);
        check(r);
        bytes += r.body().size();
      }
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = w.count;  // the others stop too
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (auto& t : pool)
    t.join();
  if (failure) std::rethrow_exception(failure);
  return bytes;
}

outcome http_sync(const workload& w) {
  cr::asio_backend backend(backend_options(w));
  const cr::uri target(http_url(w));
  outcome out;
  if (w.name == "http_download") {
    const auto req = cr::basic_request().get(target).response_as(cr::ignore());
    for (long i = 0; i < w.count; ++i) {
      check_deadline(w);
      auto r = backend.send(req);
      if (r.status() != 200) throw std::runtime_error("status " + std::to_string(r.status()));
    }
    out.bytes = static_cast<std::uint64_t>(w.count) * w.size;
  } else if (w.name != "http_conc") {
    // The same plain loop as the Beast and libcurl clients: no atomics of the harness's own.
    const auto req = cr::basic_request().get(target).response_as(cr::as_string());
    for (long i = 0; i < w.count; ++i) {
      check_deadline(w);
      auto r = backend.send(req);
      if (r.status() != 200) throw std::runtime_error("status " + std::to_string(r.status()));
      out.bytes += r.body().size();
    }
  } else {
    const auto req = cr::basic_request().get(target).response_as(cr::as_string());
    out.bytes = send_from_threads(backend, req, w, w.connections, [](const auto& r) {
      if (r.status() != 200) throw std::runtime_error("status " + std::to_string(r.status()));
    });
  }
  out.ops = w.count;
  return out;
}

// --- async (coroutines) -----------------------------------------------------------------------

template <class F>
void run_coroutines(int n, F make) {
  asio::io_context io{1};  // made for the one thread that runs it
  std::exception_ptr failure;
  for (int i = 0; i < n; ++i)
    asio::co_spawn(io, make(i), [&](std::exception_ptr e) {
      if (e && !failure) failure = e;
    });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

// The same on an executor that other threads run (the backend's own): waits for the last one.
template <class F>
void run_coroutines_on(const asio::any_io_executor& ex, int n, F make) {
  std::mutex m;
  std::condition_variable all_done;
  int left = n;
  std::exception_ptr failure;
  for (int i = 0; i < n; ++i)
    asio::co_spawn(ex, make(i), [&](std::exception_ptr e) {
      std::lock_guard lock(m);
      if (e && !failure) failure = e;
      if (--left == 0) all_done.notify_one();
    });
  std::unique_lock lock(m);
  all_done.wait(lock, [&] { return left == 0; });
  if (failure) std::rethrow_exception(failure);
}

outcome ws_async(const workload& w) {
  cr::asio_backend backend;
  outcome out;
  run_coroutines(1, [&](int) -> asio::awaitable<void> {
    auto res = co_await cr::basic_request()
                   .get(cr::uri(ws_url(w)))
                   .async_open_websocket(backend, ws_handler(), asio::use_awaitable);
    cr::ws::websocket ws = res.result;
    const std::string& payload = w.payload;
    if (w.name == "ws_latency") {
      out.latencies_us.reserve(static_cast<std::size_t>(w.count));
      for (long i = 0; i < w.count; ++i) {
        check_deadline(w);
        const auto t0 = clock::now();
        co_await ws.async_send(data_frame(w, payload), asio::use_awaitable);
        auto m = co_await ws.async_receive_message(asio::use_awaitable);
        out.latencies_us.push_back(
            std::chrono::duration<double, std::micro>(clock::now() - t0).count());
        if (m.data.size() != w.size) throw std::runtime_error("short echo");
      }
    } else if (w.name == "ws_pipeline") {
      long sent = 0;
      for (; sent < std::min<long>(w.in_flight, w.count); ++sent)
        co_await ws.async_send(data_frame(w, payload), asio::use_awaitable);
      for (long got = 0; got < w.count; ++got) {
        check_deadline(w);
        auto m = co_await ws.async_receive_message(asio::use_awaitable);
        if (m.data.size() != w.size) throw std::runtime_error("short echo");
        if (sent < w.count) {
          co_await ws.async_send(data_frame(w, std::move(m.data)), asio::use_awaitable);
          ++sent;
        }
      }
    } else {
      std::string next = payload;
      for (long i = 0; i < w.count; ++i) {
        check_deadline(w);
        co_await ws.async_send(data_frame(w, std::move(next)), asio::use_awaitable);
        next = std::move((co_await ws.async_receive_message(asio::use_awaitable)).data);
        if (next.size() != w.size) throw std::runtime_error("short echo");
      }
    }
    co_await ws.async_close(cr::ws::close_code::normal, "", asio::use_awaitable);
  });
  out.ops = w.count;
  out.bytes = static_cast<std::uint64_t>(w.count) * w.size;
  return out;
}

outcome http_async(const workload& w) {
  cr::asio_backend backend(backend_options(w));
  const cr::uri target(http_url(w));
  outcome out;
  long next = 0;  // only touched on the io_context's one thread
  std::uint64_t bytes = 0;
  const bool download = w.name == "http_download";
  const int workers = w.name == "http_conc" ? w.connections : 1;
  run_coroutines(workers, [&](int) -> asio::awaitable<void> {
    const auto text = cr::basic_request().get(target).response_as(cr::as_string());
    const auto drop = cr::basic_request().get(target).response_as(cr::ignore());
    while (next++ < w.count) {
      check_deadline(w);
      if (download) {
        auto r = co_await backend.async_send(drop, asio::use_awaitable);
        if (r.status() != 200) throw std::runtime_error("status " + std::to_string(r.status()));
        bytes += w.size;
      } else {
        auto r = co_await backend.async_send(text, asio::use_awaitable);
        if (r.status() != 200) throw std::runtime_error("status " + std::to_string(r.status()));
        bytes += r.body().size();
      }
    }
  });
  out.ops = w.count;
  out.bytes = bytes;
  return out;
}

// --- HTTP/2 ---------------------------------------------------------------------------------

// https:// chooses h2 with ALPN; http:// needs prior knowledge (h2c).
cr::http_version h2_version(const workload& w) {
  return w.url.rfind("https://", 0) == 0 ? cr::http_version::http2
                                         : cr::http_version::http2_prior_knowledge;
}

cr::asio_backend_options h2_backend_options(const workload& w) {
  cr::asio_backend_options o;
  if (!w.ca_file.empty()) o.tls.ca_file = w.ca_file;
  return o;
}

// A response that came over HTTP/1.1 would measure the wrong protocol: the run stops.
template <class Response>
void check_h2(const Response& r) {
  if (r.version() != cr::http_version::http2)
    throw wrong_protocol(std::string("response over ") + cr::to_string(r.version()) +
                         ", not HTTP/2");
  if (r.status() != 200) throw std::runtime_error("status " + std::to_string(r.status()));
}

// h2_download: one download after the other; over HTTP/1.1 on the same TLS server too
// (courier_sync_http1), the reference that pays for TLS alike.
outcome h2_download(const workload& w, cr::http_version version) {
  cr::asio_backend backend(h2_backend_options(w));
  const auto req =
      cr::basic_request().get(cr::uri(w.url)).version(version).response_as(cr::ignore());
  for (long i = 0; i < w.count; ++i) {
    check_deadline(w);
    auto r = backend.send(req);
    if (version == cr::http_version::http1_1) {
      if (r.version() != version) throw wrong_protocol("response not over HTTP/1.1");
      if (r.status() != 200) throw std::runtime_error("status " + std::to_string(r.status()));
    } else {
      check_h2(r);
    }
  }
  outcome out;
  out.bytes = static_cast<std::uint64_t>(w.count) * w.size;
  out.ops = w.count;
  return out;
}

// h2_multi: in_flight threads each blocking in send() on one backend, so their requests are
// streams of the origin's one connection.
outcome h2_sync(const workload& w) {
  if (w.name == "h2_download") return h2_download(w, h2_version(w));
  cr::asio_backend backend(h2_backend_options(w));
  const cr::uri target(w.url);
  outcome out;
  const auto req =
      cr::basic_request().get(target).version(h2_version(w)).response_as(cr::as_string());
  out.bytes = send_from_threads(backend, req, w, w.in_flight, [](const auto& r) { check_h2(r); });
  out.ops = w.count;
  return out;
}

// h2_multi: in_flight coroutines on one io_context sharing the connection (on_backend: on the
// backend's own executor instead, courier_async_io). h2_streams_rss: one request opens the
// connection, then in_flight coroutines send one request each at once; the RSS growth is the
// highest RSS seen as the responses arrive and after, minus the RSS before.
outcome h2_async(const workload& w, bool on_backend) {
  cr::asio_backend backend(h2_backend_options(w));
  const auto run = [&](int n, auto make) {
    if (on_backend)
      run_coroutines_on(backend.get_executor(), n, make);
    else
      run_coroutines(n, make);
  };
  const cr::uri target(w.url);
  const auto req =
      cr::basic_request().get(target).version(h2_version(w)).response_as(cr::as_string());
  outcome out;
  std::uint64_t bytes = 0;  // only touched on the io_context's one thread
  if (w.name == "h2_streams_rss") {
    check_h2(backend.send(req));  // the connection, the backend's thread, the TLS context
    const double before = current_rss_kib();
    double highest = before;
    long done = 0;
    run(w.in_flight, [&](int) -> asio::awaitable<void> {
      auto r = co_await backend.async_send(req, asio::use_awaitable);
      check_h2(r);
      bytes += r.body().size();
      ++done;
      highest = std::max(highest, current_rss_kib());
    });
    out.rss_growth_kib = std::max(highest, current_rss_kib()) - before;
    out.ops = done;
    out.bytes = bytes;
    return out;
  }
  long next = 0;  // with on_backend, only touched on the backend's one thread
  run(w.in_flight, [&](int) -> asio::awaitable<void> {
    while (next++ < w.count) {
      check_deadline(w);
      auto r = co_await backend.async_send(req, asio::use_awaitable);
      check_h2(r);
      bytes += r.body().size();
    }
  });
  out.ops = w.count;
  out.bytes = bytes;
  return out;
}

// h2_streams_rss with completion callbacks: the streams' own memory, without a coroutine of the
// caller's per request (its frame, co_spawn's and use_awaitable's). The callbacks run on the
// backend's thread.
outcome h2_callbacks(const workload& w) {
  // Declared before the backend, which outlives none of it: destroying the backend on a
  // failure calls the callbacks still pending.
  std::mutex m;
  std::condition_variable all_done;
  double highest = 0;
  long done = 0;
  std::uint64_t bytes = 0;
  std::exception_ptr failure;
  cr::asio_backend backend(h2_backend_options(w));
  const auto req =
      cr::basic_request().get(cr::uri(w.url)).version(h2_version(w)).response_as(cr::as_string());
  check_h2(backend.send(req));  // the connection, the backend's thread, the TLS context
  const double before = current_rss_kib();
  highest = before;
  for (int i = 0; i < w.in_flight; ++i) {
    backend.async_send(req, [&](std::exception_ptr e, cr::response<std::string> r) {
      const double rss = current_rss_kib();
      std::lock_guard lock(m);
      try {
        if (e) std::rethrow_exception(e);
        check_h2(r);
        bytes += r.body().size();
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
      highest = std::max(highest, rss);
      if (++done == w.in_flight) all_done.notify_one();
    });
  }
  {
    std::unique_lock lock(m);
    if (!all_done.wait_until(lock, w.deadline, [&] { return done == w.in_flight; }))
      throw out_of_time();
    if (failure) std::rethrow_exception(failure);
  }
  outcome out;
  out.rss_growth_kib = std::max(highest, current_rss_kib()) - before;
  out.ops = done;
  out.bytes = bytes;
  return out;
}

}  // namespace

void register_courier(registry& r) {
  for (const char* ws : {"ws_latency", "ws_pipeline", "ws_binary", "ws_text"}) {
    r["courier_sync"][ws] = ws_sync;
    r["courier_async"][ws] = ws_async;
  }
  r["courier_sync"]["ws_idle"] = ws_idle;
  for (const char* h : {"http_seq", "http_conc", "http_download"}) {
    r["courier_sync"][h] = http_sync;
    r["courier_async"][h] = http_async;
  }
  r["courier_sync"]["h2_multi"] = h2_sync;
  r["courier_sync"]["h2_download"] = h2_sync;
  r["courier_sync_http1"]["h2_download"] = [](const workload& w) {
    return h2_download(w, cr::http_version::http1_1);
  };
  r["courier_async"]["h2_multi"] = [](const workload& w) { return h2_async(w, false); };
  r["courier_async"]["h2_streams_rss"] = [](const workload& w) { return h2_async(w, false); };
  r["courier_async_io"]["h2_multi"] = [](const workload& w) { return h2_async(w, true); };
  r["courier_callback"]["h2_streams_rss"] = h2_callbacks;
}

}  // namespace bench
