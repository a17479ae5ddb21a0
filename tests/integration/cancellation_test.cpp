// Per-operation cancellation, written the ways users write it: the awaitable `||` with a timer,
// parallel_group, co_spawn's cancellation slot and a bind_cancellation_slot callback. Each test
// bounds how long the cancelled operation may take to complete and checks the state it leaves:
// a WebSocket still usable with nothing lost, an HTTP connection closed rather than pooled.
#include <courier/courier.hpp>
#include <courier/ws/stream.hpp>

#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"
#include "support/ws_frames.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <string>

namespace cr = courier;
namespace ws = courier::ws;
namespace ct = courier::test;
namespace net = boost::asio;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using ct::server_frame;
using ct::upgrade_then;

namespace {

using clock_type = std::chrono::steady_clock;

// The io_contexts the HTTP tests run on: one any number of threads may run (requests run on a
// strand of it) and one made for a single thread (requests run on it directly).
constexpr int any_threads = BOOST_ASIO_CONCURRENCY_HINT_DEFAULT;
constexpr int one_thread = 1;

// Runs `body` as a coroutine on a fresh io_context, at most `limit` long; fails the test if it
// did not finish.
template <class F>
void run_coroutine(F body, std::chrono::seconds limit = 20s, int concurrency = any_threads) {
  net::io_context io(concurrency);
  std::atomic<bool> finished{false};
  std::exception_ptr failure;
  net::co_spawn(io, body(), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
  });
  io.run_for(limit);
  ASSERT_TRUE(finished.load()) << "the coroutine did not finish within " << limit.count() << " s";
  if (failure) std::rethrow_exception(failure);
}

std::chrono::milliseconds since(clock_type::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0);
}

ws::websocket open_on(const ct::fault_server& server, ws::buffer_options o = {}) {
  return cr::basic_request()
      .get(cr::uri(server.url("ws", "/")))
      .open_websocket(ct::default_backend(), ws::high_level{o})
      .result;
}

ws::websocket open_echo(ws::buffer_options o = {}) {
  return cr::basic_request()
      .get(cr::uri(ct::ws_url("/echo")))
      .open_websocket(ct::default_backend(), ws::high_level{o})
      .result;
}

// A keep-alive server whose second request gets half a body and then nothing: the client must
// not put that connection back in the pool. `closed` is set when the client closed it.
struct half_answering_server {
  std::atomic<int> requests{0};
  std::atomic<bool> closed{false};
  ct::fault_server server{[this](ct::connection& c) {
    while (auto head = c.try_read_request_head()) {
      if (++requests == 2) {
        c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf");
        closed = c.wait_for_peer_close(10s);
        return;
      }
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  }};
};

bool eventually(const std::atomic<bool>& flag, std::chrono::milliseconds limit = 3000ms) {
  const auto until = clock_type::now() + limit;
  while (!flag.load() && clock_type::now() < until)
    std::this_thread::sleep_for(10ms);
  return flag.load();
}

}  // namespace

// --- HTTP ---------------------------------------------------------------------------------------

TEST(CancelHttp, OrWithATimerEndsTheRequestAndClosesItsConnection) {
  for (const int concurrency : {any_threads, one_thread}) {
    SCOPED_TRACE("io_context concurrency hint " + std::to_string(concurrency));
    half_answering_server s;
    cr::asio_backend backend;
    const auto req = cr::basic_request().get(cr::uri(s.server.url("/")));
    run_coroutine(
        [&]() -> net::awaitable<void> {
          EXPECT_EQ(*(co_await req.async_send(backend, net::use_awaitable)).body(), "ok");
          net::steady_timer timer(co_await net::this_coro::executor, 200ms);
          const auto t0 = clock_type::now();
          auto winner = co_await (req.async_send(backend, net::use_awaitable) ||
                                  timer.async_wait(net::use_awaitable));
          EXPECT_EQ(winner.index(), 1u);
          EXPECT_LT(since(t0), 2000ms);
          // The half-read connection was closed, not pooled: the next request gets a fresh one.
          EXPECT_EQ(*(co_await req.async_send(backend, net::use_awaitable)).body(), "ok");
        },
        20s, concurrency);
    EXPECT_TRUE(eventually(s.closed)) << "the cancelled exchange's connection was left open";
    EXPECT_EQ(s.server.connections_accepted(), 2);
  }
}

TEST(CancelHttp, ARequestWaitingForAFreeConnectionLeavesTheQueue) {
  // One connection per origin, held by a slow request: the next one waits for it in the pool.
  // Cancelled there, it ends at once; a timed-out wait says so; a third request gets the
  // connection once it is free, and the pool never opened a second one.
  ct::fault_server server([](ct::connection& c) {
    for (int i = 0; i < 8; ++i) {
      if (!c.try_read_request_head()) return;
      std::this_thread::sleep_for(600ms);
      c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  cr::asio_backend_options options;
  options.max_connections_per_origin = 1;
  cr::asio_backend backend(options);
  const auto req = cr::basic_request().get(cr::uri(server.url("/")));
  auto slow = req.async_send(backend, net::use_future);
  std::this_thread::sleep_for(100ms);  // the slow request holds the only connection
  run_coroutine([&]() -> net::awaitable<void> {
    net::steady_timer timer(co_await net::this_coro::executor, 100ms);
    const auto t0 = clock_type::now();
    auto winner = co_await (req.async_send(backend, net::use_awaitable) ||
                            timer.async_wait(net::use_awaitable));
    EXPECT_EQ(winner.index(), 1u);
    EXPECT_LT(since(t0), 400ms) << "the cancelled request waited for the connection";
  });
  try {
    req.connect_timeout(100ms).send(backend);
    ADD_FAILURE() << "no timeout";
  } catch (const cr::timeout_error& e) {
    EXPECT_NE(std::string(e.what()).find("free connection"), std::string::npos) << e.what();
  }
  EXPECT_EQ(*slow.get().body(), "ok");
  EXPECT_EQ(*req.send(backend).body(), "ok");
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(CancelHttp, ParallelGroupReportsOperationAborted) {
  ct::fault_server server(ct::never_answer());
  for (const int concurrency : {any_threads, one_thread}) {
    SCOPED_TRACE("io_context concurrency hint " + std::to_string(concurrency));
    run_coroutine(
        [&]() -> net::awaitable<void> {
          net::steady_timer timer(co_await net::this_coro::executor, 200ms);
          const auto t0 = clock_type::now();
          auto [order, e, res, timer_ec] =
              co_await net::experimental::make_parallel_group(
                  cr::basic_request()
                      .get(cr::uri(server.url("/")))
                      .async_send(ct::default_backend(), net::deferred),
                  timer.async_wait(net::deferred))
                  .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
          EXPECT_EQ(order[0], 1u);
          EXPECT_LT(since(t0), 2000ms);
          EXPECT_EQ(cr::error_code_of(e), cr::errc::operation_aborted);
          EXPECT_NE(cr::message_of(e).find("was cancelled"), std::string::npos)
              << cr::message_of(e);
          EXPECT_THROW(std::rethrow_exception(e), cr::operation_aborted);
        },
        20s, concurrency);
  }
}

TEST(CancelHttp, CoSpawnCancellationSignalStopsTheCoroutine) {
  ct::fault_server server(ct::never_answer());
  net::io_context io(one_thread);
  net::cancellation_signal signal;
  std::promise<std::exception_ptr> ended;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        co_await cr::basic_request()
            .get(cr::uri(server.url("/")))
            .async_send(ct::default_backend(), net::use_awaitable);
      },
      net::bind_cancellation_slot(signal.slot(),
                                  [&](std::exception_ptr e) { ended.set_value(e); }));
  net::steady_timer timer(io, 200ms);
  timer.async_wait(
      [&](boost::system::error_code) { signal.emit(net::cancellation_type::terminal); });
  const auto t0 = clock_type::now();
  io.run_for(10s);
  auto f = ended.get_future();
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_LT(since(t0), 2000ms);
  EXPECT_THROW(std::rethrow_exception(f.get()), cr::operation_aborted);
}

TEST(CancelHttp, CallbackWithABoundSlotOnTheBackendsThreads) {
  half_answering_server s;
  cr::asio_backend backend;
  const auto req = cr::basic_request().get(cr::uri(s.server.url("/")));
  EXPECT_EQ(*req.send(backend).body(), "ok");
  net::cancellation_signal signal;
  std::promise<std::exception_ptr> got;
  req.async_send(
      backend, net::bind_cancellation_slot(signal.slot(),
                                           [&](std::exception_ptr e, auto) { got.set_value(e); }));
  std::this_thread::sleep_for(200ms);
  const auto t0 = clock_type::now();
  signal.emit(net::cancellation_type::partial);
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(3s), std::future_status::ready);
  EXPECT_LT(since(t0), 2000ms);
  EXPECT_EQ(cr::error_code_of(f.get()), cr::errc::operation_aborted);
  EXPECT_TRUE(eventually(s.closed));
  EXPECT_EQ(*req.send(backend).body(), "ok");
  EXPECT_EQ(s.server.connections_accepted(), 2);
}

TEST(CancelHttp, TotalCancellationIsNotPromisedAndIsIgnored) {
  // An exchange may already have reached the server: it cannot be undone without effect, so a
  // total-only request leaves it running to its end.
  ct::fault_server server([](ct::connection& c) {
    c.read_request_head();
    c.pause(400ms);
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  net::cancellation_signal signal;
  std::promise<std::exception_ptr> got;
  cr::basic_request()
      .get(cr::uri(server.url("/")))
      .async_send(ct::default_backend(),
                  net::bind_cancellation_slot(
                      signal.slot(), [&](std::exception_ptr e, auto) { got.set_value(e); }));
  std::this_thread::sleep_for(100ms);
  signal.emit(net::cancellation_type::total);
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(f.get());
}

TEST(CancelHttp, AnUnconnectedSlotChangesNothing) {
  run_coroutine([&]() -> net::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      auto res = co_await cr::basic_request()
                     .get(cr::uri(ct::http_url("/small.txt")))
                     .async_send(ct::default_backend(), net::use_awaitable);
      EXPECT_EQ(res.status(), 200);
    }
  });
}

TEST(CancelHttp, BodyStreamReadIsCancelledAndTheStreamGoesOn) {
  ct::fault_server server([](ct::connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd");
    c.pause(600ms);
    c.write("efghij");
    c.wait_for_peer_close(5s);
  });
  run_coroutine([&]() -> net::awaitable<void> {
    auto res = co_await cr::basic_request()
                   .get(cr::uri(server.url("/")))
                   .response_as(cr::as_stream())
                   .async_send(ct::default_backend(), net::use_awaitable);
    std::array<char, 64> buf{};
    std::string got;
    got.append(buf.data(), co_await res.body().async_read_some(buf, net::use_awaitable));
    EXPECT_EQ(got, "abcd");
    net::steady_timer timer(co_await net::this_coro::executor, 100ms);
    const auto t0 = clock_type::now();
    auto winner = co_await (res.body().async_read_some(buf, net::use_awaitable) ||
                            timer.async_wait(net::use_awaitable));
    EXPECT_EQ(winner.index(), 1u);
    EXPECT_LT(since(t0), 500ms);
    while (std::size_t n = co_await res.body().async_read_some(buf, net::use_awaitable))
      got.append(buf.data(), n);
    EXPECT_EQ(got, "abcdefghij");
  });
}

// --- WebSocket ----------------------------------------------------------------------------------

TEST(CancelWebSocket, ReceiveOrTimerLeavesTheConnectionUsable) {
  auto socket = open_echo();
  run_coroutine([&]() -> net::awaitable<void> {
    for (int round = 0; round < 3; ++round) {
      net::steady_timer timer(co_await net::this_coro::executor, 100ms);
      const auto t0 = clock_type::now();
      auto winner = co_await (socket.async_receive_text(net::use_awaitable) ||
                              timer.async_wait(net::use_awaitable));
      EXPECT_EQ(winner.index(), 1u);
      EXPECT_LT(since(t0), 1000ms);
    }
    // Nothing was taken and nothing is skipped: the next messages arrive in order.
    co_await socket.async_send_text("one", net::use_awaitable);
    co_await socket.async_send_text("two", net::use_awaitable);
    EXPECT_EQ(co_await socket.async_receive_text(net::use_awaitable), "one");
    EXPECT_EQ(co_await socket.async_receive_text(net::use_awaitable), "two");
  });
  // And a blocking round trip, on the I/O thread's reading again.
  socket.send_text("three");
  EXPECT_EQ(socket.receive_text(), "three");
  socket.close();
}

TEST(CancelWebSocket, AFragmentTakenByTheCancelledReceiveIsGivenBack) {
  ct::fault_server server(upgrade_then([](ct::connection& c) {
    c.write(server_frame(0x1, "hel", false));  // the first fragment, then a pause
    ct::read_small_client_frame(c);            // the client says its receive was cancelled
    c.write(server_frame(0x0, "lo"));
    c.wait_for_peer_close(5s);
  }));
  auto socket = open_on(server);
  run_coroutine([&]() -> net::awaitable<void> {
    net::steady_timer timer(co_await net::this_coro::executor, 300ms);
    auto winner = co_await (socket.async_receive_text(net::use_awaitable) ||
                            timer.async_wait(net::use_awaitable));
    EXPECT_EQ(winner.index(), 1u);
    co_await socket.async_send_text("go", net::use_awaitable);
    EXPECT_EQ(co_await socket.async_receive_text(net::use_awaitable), "hello");
  });
}

TEST(CancelWebSocket, ParallelGroupReportsOperationAbortedAndTheNextReceiveWorks) {
  auto socket = open_echo();
  run_coroutine([&]() -> net::awaitable<void> {
    net::steady_timer timer(co_await net::this_coro::executor, 100ms);
    auto [order, e, text, timer_ec] =
        co_await net::experimental::make_parallel_group(socket.async_receive_text(net::deferred),
                                                        timer.async_wait(net::deferred))
            .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
    EXPECT_EQ(order[0], 1u);
    EXPECT_EQ(cr::error_code_of(e), cr::errc::operation_aborted);
    EXPECT_NE(cr::message_of(e).find("nothing was taken"), std::string::npos) << cr::message_of(e);
    co_await socket.async_send_text("after", net::use_awaitable);
    EXPECT_EQ(co_await socket.async_receive_text(net::use_awaitable), "after");
  });
}

TEST(CancelWebSocket, CoSpawnSignalAndBoundCallback) {
  auto socket = open_echo();
  // co_spawn's own slot: the coroutine ends with the receive's operation_aborted.
  net::io_context io;
  net::cancellation_signal signal;
  std::promise<std::exception_ptr> ended;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> { co_await socket.async_receive_message(net::use_awaitable); },
      net::bind_cancellation_slot(signal.slot(),
                                  [&](std::exception_ptr e) { ended.set_value(e); }));
  net::steady_timer timer(io, 150ms);
  timer.async_wait(
      [&](boost::system::error_code) { signal.emit(net::cancellation_type::terminal); });
  io.run_for(10s);
  auto f = ended.get_future();
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  EXPECT_THROW(std::rethrow_exception(f.get()), cr::operation_aborted);

  // A callback with a slot of its own, emitted from this thread.
  net::cancellation_signal callback_signal;
  std::promise<std::exception_ptr> got;
  socket.async_receive_text(net::bind_cancellation_slot(
      callback_signal.slot(), [&](std::exception_ptr e, std::string) { got.set_value(e); }));
  std::this_thread::sleep_for(100ms);
  callback_signal.emit(net::cancellation_type::total);
  auto g = got.get_future();
  ASSERT_EQ(g.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(cr::error_code_of(g.get()), cr::errc::operation_aborted);

  socket.send_text("still here");
  EXPECT_EQ(socket.receive_text(), "still here");
  socket.close();
}

TEST(CancelWebSocket, ASendWaitingForRoomIsTakenBack) {
  std::atomic<bool> late_seen{false};
  ct::fault_server server(upgrade_then([&](ct::connection& c) {
    c.pause(1500ms);  // reads nothing meanwhile: the client's queue stays full
    std::string all;
    while (c.is_open()) {
      std::string more = c.read_some();
      if (more.empty()) break;
      all += more;
      if (all.find("late") != std::string::npos) late_seen = true;
    }
  }));
  ws::buffer_options o;
  o.connection.max_outgoing_bytes = 64 * 1024;
  o.connection.on_outgoing_full = ws::outgoing_full::wait;
  o.connection.close_timeout = 300ms;  // the script never answers the close
  auto socket = open_on(server, o);
  run_coroutine([&]() -> net::awaitable<void> {
    // Queued at once (it completes when queued), and more than the socket takes.
    co_await socket.async_send_binary(std::span<const std::byte>(std::vector<std::byte>(32 << 20)),
                                      net::use_awaitable);
    net::steady_timer timer(co_await net::this_coro::executor, 200ms);
    const auto t0 = clock_type::now();
    auto [order, e, timer_ec] =
        co_await net::experimental::make_parallel_group(
            socket.async_send_text("late", net::deferred), timer.async_wait(net::deferred))
            .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
    EXPECT_EQ(order[0], 1u);
    EXPECT_LT(since(t0), 1000ms);
    EXPECT_EQ(cr::error_code_of(e), cr::errc::operation_aborted) << cr::message_of(e);
  });
  EXPECT_TRUE(socket.is_open());
  socket.close();
  EXPECT_FALSE(late_seen.load()) << "a cancelled send reached the wire";
}

TEST(CancelWebSocket, CloseStopsWaitingForThePeer) {
  std::atomic<bool> dropped{false};
  ct::fault_server server(upgrade_then([&](ct::connection& c) {
    dropped = c.wait_for_peer_close(10s);  // never answers the close frame
  }));
  ws::buffer_options o;
  o.connection.close_timeout = 10s;
  auto socket = open_on(server, o);
  run_coroutine([&]() -> net::awaitable<void> {
    net::steady_timer timer(co_await net::this_coro::executor, 200ms);
    const auto t0 = clock_type::now();
    auto [order, e, timer_ec] =
        co_await net::experimental::make_parallel_group(
            socket.async_close(ws::close_code::normal, "bye", net::deferred),
            timer.async_wait(net::deferred))
            .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
    EXPECT_EQ(order[0], 1u);
    EXPECT_LT(since(t0), 1500ms);
    EXPECT_EQ(cr::error_code_of(e), cr::errc::operation_aborted) << cr::message_of(e);
  });
  EXPECT_FALSE(socket.is_open());
  EXPECT_TRUE(eventually(dropped));
}

TEST(CancelWebSocket, OpeningIsCancelledAndTheHalfOpenConnectionClosed) {
  std::atomic<bool> dropped{false};
  ct::fault_server server([&](ct::connection& c) {
    c.read_request_head();  // the upgrade is never answered
    dropped = c.wait_for_peer_close(10s);
  });
  run_coroutine([&]() -> net::awaitable<void> {
    net::steady_timer timer(co_await net::this_coro::executor, 200ms);
    const auto t0 = clock_type::now();
    auto winner = co_await (
        cr::basic_request()
            .get(cr::uri(server.url("ws", "/")))
            .async_open_websocket(ct::default_backend(), ws::high_level{}, net::use_awaitable) ||
        timer.async_wait(net::use_awaitable));
    EXPECT_EQ(winner.index(), 1u);
    EXPECT_LT(since(t0), 1500ms);
  });
  EXPECT_TRUE(eventually(dropped));
}

// --- timeouts without a hand-made timer ----------------------------------------------------------

TEST(ReceiveTimeout, PerCallSyncAndAsync) {
  auto socket = open_echo();
  const auto t0 = clock_type::now();
  try {
    socket.receive_text(200ms);
    ADD_FAILURE() << "no timeout";
  } catch (const cr::timeout_error& e) {
    EXPECT_NE(std::string(e.what()).find("200 ms"), std::string::npos) << e.what();
  }
  EXPECT_GE(since(t0), 190ms);
  EXPECT_LT(since(t0), 1500ms);
  socket.send_text("sync");
  EXPECT_EQ(socket.receive_text(200ms), "sync");

  run_coroutine([&]() -> net::awaitable<void> {
    try {
      co_await socket.async_receive_text(150ms, net::use_awaitable);
      ADD_FAILURE() << "no timeout";
    } catch (const cr::timeout_error&) {
    }
    co_await socket.async_send_text("async", net::use_awaitable);
    EXPECT_EQ(co_await socket.async_receive_text(1s, net::use_awaitable), "async");
  });
  socket.close();
}

TEST(ReceiveTimeout, PerConnectionOption) {
  ws::buffer_options o;
  o.receive_timeout = 150ms;
  auto socket = open_echo(o);
  EXPECT_THROW(socket.receive_message(), cr::timeout_error);
  EXPECT_THROW(socket.receive(), cr::timeout_error);
  auto f = socket.async_receive_binary(net::use_future);
  EXPECT_THROW(f.get(), cr::timeout_error);
  socket.send_text("kept");
  EXPECT_EQ(socket.receive_text(), "kept");
  socket.close();
}

// --- async errors are the sync ones
// ----------------------------------------------------------------

namespace {

template <class Sync>
std::string sync_message(Sync f) {
  try {
    f();
  } catch (const cr::error& e) {
    return e.what();
  }
  return "no exception";
}

// The failure of `req` sent three ways (coroutine, future, callback), each the same type and
// message as the blocking send's.
template <class Error, class Req>
void expect_same_failure(const Req& req, cr::asio_backend& backend) {
  const std::string sync = sync_message([&] { req.send(backend); });
  EXPECT_NE(sync, "no exception");
  run_coroutine([&]() -> net::awaitable<void> {
    try {
      co_await req.async_send(backend, net::use_awaitable);
      ADD_FAILURE() << "no exception";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), sync);
    }
  });
  try {
    req.async_send(backend, net::use_future).get();
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), sync);
  }
  std::promise<std::exception_ptr> got;
  req.async_send(backend, [&](std::exception_ptr e, auto) { got.set_value(e); });
  EXPECT_EQ(cr::message_of(got.get_future().get()), sync);
}

}  // namespace

TEST(AsyncErrors, ConnectRefused) {
  expect_same_failure<cr::connect_error>(cr::basic_request().get(cr::uri("http://127.0.0.1:1/")),
                                         ct::default_backend());
}

TEST(AsyncErrors, UnknownHost) {
  expect_same_failure<cr::connect_error>(
      cr::basic_request().connect_timeout(3s).get(cr::uri("http://no-such-host.invalid/")),
      ct::default_backend());
}

TEST(AsyncErrors, ReadTimeout) {
  ct::fault_server server(ct::never_answer());
  expect_same_failure<cr::timeout_error>(
      cr::basic_request().read_timeout(200ms).get(cr::uri(server.url("/"))), ct::default_backend());
}

TEST(AsyncErrors, ProtocolError) {
  ct::fault_server server(ct::respond_raw("this is not HTTP at all\r\n\r\n"));
  expect_same_failure<cr::protocol_error>(
      cr::basic_request().read_timeout(2s).get(cr::uri(server.url("/"))), ct::default_backend());
}

TEST(AsyncErrors, UntrustedCertificate) {
  expect_same_failure<cr::tls_error>(cr::basic_request().get(cr::uri(ct::https_url("/small.txt"))),
                                     ct::default_backend());
}

TEST(AsyncErrors, RefusedUpgradeCarriesTheResponse) {
  const auto req = cr::basic_request().get(cr::uri(ct::http_url("/small.txt")));
  const std::string sync =
      sync_message([&] { req.open_websocket(ct::default_backend(), ws::high_level{}); });
  run_coroutine([&]() -> net::awaitable<void> {
    try {
      co_await req.async_open_websocket(ct::default_backend(), ws::high_level{},
                                        net::use_awaitable);
      ADD_FAILURE() << "no exception";
    } catch (const cr::websocket_upgrade_failed& e) {
      EXPECT_EQ(std::string(e.what()), sync);
      EXPECT_EQ(e.status(), 200);
      EXPECT_FALSE(e.body().empty());
    }
  });
}

TEST(AsyncErrors, WebSocketProtocolViolation) {
  ct::fault_server server(upgrade_then([](ct::connection& c) {
    c.write(server_frame(0x1, "\xff\xfe"));  // invalid UTF-8 in a text message
    c.wait_for_peer_close(5s);
  }));
  auto blocking = open_on(server);
  const std::string sync = sync_message([&] { blocking.receive_text(); });
  EXPECT_NE(sync.find("UTF-8"), std::string::npos) << sync;
  auto async = open_on(server);
  run_coroutine([&]() -> net::awaitable<void> {
    try {
      co_await async.async_receive_text(net::use_awaitable);
      ADD_FAILURE() << "no exception";
    } catch (const cr::protocol_error& e) {
      EXPECT_EQ(std::string(e.what()), sync);
    }
  });
}
