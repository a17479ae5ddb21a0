// Boost.Beast clients written the way Beast's documentation shows: websocket::stream over a
// tcp::socket with a flat_buffer, sync and C++20-coroutine async; and HTTP clients on keep-alive
// connections, sync (one connection) and async (one coroutine per connection on one
// io_context). They are the reference courier is compared with.
#include "bench_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

tcp::endpoint endpoint(const workload& w, int port) {
  return {asio::ip::make_address(w.host), static_cast<unsigned short>(port)};
}

template <class Stream>
void configure(Stream& ws, const workload& w) {
  ws.read_message_max(std::size_t{64} << 20);
  ws.auto_fragment(false);
  ws.binary(w.name != "ws_text");
}

outcome ws_sync(const workload& w) {
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  ws.next_layer().connect(endpoint(w, w.ws_port));
  ws.next_layer().set_option(tcp::no_delay(true));
  ws.handshake(w.host, "/");
  configure(ws, w);
  const std::string& payload = w.payload;
  beast::flat_buffer buffer;
  outcome out;
  if (w.name == "ws_latency") {
    out.latencies_us.reserve(static_cast<std::size_t>(w.count));
    for (long i = 0; i < w.count; ++i) {
      check_deadline(w);
      const auto t0 = clock::now();
      ws.write(asio::buffer(payload));
      const std::size_t n = ws.read(buffer);
      buffer.consume(n);
      out.latencies_us.push_back(
          std::chrono::duration<double, std::micro>(clock::now() - t0).count());
      if (n != w.size) throw std::runtime_error("short echo");
    }
  } else if (w.name == "ws_pipeline") {
    long sent = 0;
    for (; sent < std::min<long>(w.in_flight, w.count); ++sent)
      ws.write(asio::buffer(payload));
    for (long got = 0; got < w.count; ++got) {
      check_deadline(w);
      const std::size_t n = ws.read(buffer);
      if (n != w.size) throw std::runtime_error("short echo");
      if (sent < w.count) {
        ws.write(buffer.data());
        ++sent;
      }
      buffer.consume(n);
    }
  } else {
    ws.write(asio::buffer(payload));
    for (long i = 0; i < w.count; ++i) {
      check_deadline(w);
      const std::size_t n = ws.read(buffer);
      if (n != w.size) throw std::runtime_error("short echo");
      if (i + 1 < w.count) ws.write(buffer.data());  // echo the echo: no copy
      buffer.consume(n);
    }
  }
  out.ops = w.count;
  out.bytes = static_cast<std::uint64_t>(w.count) * w.size;
  ws.close(websocket::close_code::normal);
  return out;
}

outcome ws_async(const workload& w) {
  asio::io_context io{1};  // one thread runs it, as in the coroutine clients of courier
  outcome out;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        websocket::stream<tcp::socket> ws(co_await asio::this_coro::executor);
        co_await ws.next_layer().async_connect(endpoint(w, w.ws_port), asio::use_awaitable);
        ws.next_layer().set_option(tcp::no_delay(true));
        co_await ws.async_handshake(w.host, "/", asio::use_awaitable);
        configure(ws, w);
        const std::string& payload = w.payload;
        beast::flat_buffer buffer;
        if (w.name == "ws_latency") {
          out.latencies_us.reserve(static_cast<std::size_t>(w.count));
          for (long i = 0; i < w.count; ++i) {
            check_deadline(w);
            const auto t0 = clock::now();
            co_await ws.async_write(asio::buffer(payload), asio::use_awaitable);
            const std::size_t n = co_await ws.async_read(buffer, asio::use_awaitable);
            buffer.consume(n);
            out.latencies_us.push_back(
                std::chrono::duration<double, std::micro>(clock::now() - t0).count());
            if (n != w.size) throw std::runtime_error("short echo");
          }
        } else if (w.name == "ws_pipeline") {
          long sent = 0;
          for (; sent < std::min<long>(w.in_flight, w.count); ++sent)
            co_await ws.async_write(asio::buffer(payload), asio::use_awaitable);
          for (long got = 0; got < w.count; ++got) {
            check_deadline(w);
            const std::size_t n = co_await ws.async_read(buffer, asio::use_awaitable);
            if (n != w.size) throw std::runtime_error("short echo");
            if (sent < w.count) {
              co_await ws.async_write(buffer.data(), asio::use_awaitable);
              ++sent;
            }
            buffer.consume(n);
          }
        } else {
          co_await ws.async_write(asio::buffer(payload), asio::use_awaitable);
          for (long i = 0; i < w.count; ++i) {
            check_deadline(w);
            const std::size_t n = co_await ws.async_read(buffer, asio::use_awaitable);
            if (n != w.size) throw std::runtime_error("short echo");
            if (i + 1 < w.count) co_await ws.async_write(buffer.data(), asio::use_awaitable);
            buffer.consume(n);
          }
        }
        co_await ws.async_close(websocket::close_code::normal, asio::use_awaitable);
      },
      [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  out.ops = w.count;
  out.bytes = static_cast<std::uint64_t>(w.count) * w.size;
  return out;
}

outcome http_sync(const workload& w) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(endpoint(w, w.http_port));
  stream.socket().set_option(tcp::no_delay(true));
  http::request<http::empty_body> req{http::verb::get, w.path, 11};
  req.set(http::field::host, w.host);
  req.set(http::field::user_agent, "beast-bench");
  beast::flat_buffer buffer;
  outcome out;
  for (long i = 0; i < w.count; ++i) {
    check_deadline(w);
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (res.result_int() != 200) throw std::runtime_error("status");
    out.bytes += res.body().size();
  }
  out.ops = w.count;
  return out;
}

// http_seq: one coroutine on one connection; http_conc: `connections` coroutines on one
// io_context, each with its own keep-alive connection, taking requests from a shared count.
outcome http_async(const workload& w) {
  asio::io_context io{1};  // one thread runs it, as in the coroutine clients of courier
  outcome out;
  long next = 0;  // only touched on the io_context's one thread
  std::exception_ptr failure;
  const int workers = w.name == "http_conc" ? w.connections : 1;
  for (int i = 0; i < workers; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          beast::tcp_stream stream(co_await asio::this_coro::executor);
          co_await stream.async_connect(endpoint(w, w.http_port), asio::use_awaitable);
          stream.socket().set_option(tcp::no_delay(true));
          http::request<http::empty_body> req{http::verb::get, w.path, 11};
          req.set(http::field::host, w.host);
          req.set(http::field::user_agent, "beast-bench");
          beast::flat_buffer buffer;
          while (next++ < w.count) {
            check_deadline(w);
            co_await http::async_write(stream, req, asio::use_awaitable);
            http::response<http::string_body> res;
            co_await http::async_read(stream, buffer, res, asio::use_awaitable);
            if (res.result_int() != 200) throw std::runtime_error("status");
            out.bytes += res.body().size();
          }
        },
        [&](std::exception_ptr e) {
          if (e && !failure) failure = e;
        });
  }
  io.run();
  if (failure) std::rethrow_exception(failure);
  out.ops = w.count;
  return out;
}

}  // namespace

void register_beast(registry& r) {
  for (const char* ws : {"ws_latency", "ws_pipeline", "ws_binary", "ws_text"}) {
    r["beast_sync"][ws] = ws_sync;
    r["beast_async"][ws] = ws_async;
  }
  r["beast_sync"]["http_seq"] = http_sync;
  r["beast_async"]["http_seq"] = http_async;
  r["beast_async"]["http_conc"] = http_async;
}

}  // namespace bench
