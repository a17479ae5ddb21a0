// Async receives from a coroutine read the socket on the coroutine's own io_context (its
// reactor waits for input), so that a round trip stays on that thread. Reading goes back to the
// backend's I/O thread when no receive comes for a moment, when a blocking receive or a close
// needs it, and when the io_context is destroyed. These check each hand-over, and that nothing
// is lost or reordered across them.
#include <courier/courier.hpp>

#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"
#include "support/ws_frames.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace cr = courier;
namespace ws = courier::ws;
namespace ct = courier::test;
namespace net = boost::asio;
using ct::server_frame;
using ct::upgrade_then;
using namespace std::chrono_literals;

namespace {

ws::websocket open_echo(cr::asio_backend& backend) {
  return cr::basic_request()
      .get(cr::uri(ct::ws_url("/echo")))
      .open_websocket(backend, ws::high_level{})
      .result;
}

// Runs `body` as a coroutine on `io` until it ends (at most 10 s); rethrows what it threw.
template <class F>
void run_coroutine(net::io_context& io, F body) {
  std::exception_ptr failure;
  bool ended = false;
  net::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    failure = e;
    ended = true;
  });
  io.restart();
  io.run_for(10s);
  ASSERT_TRUE(ended) << "the coroutine did not end within 10 s";
  if (failure) std::rethrow_exception(failure);
}

net::awaitable<void> round_trips(ws::websocket& socket, const std::string& tag, int count) {
  for (int i = 0; i < count; ++i) {
    const std::string text = tag + " " + std::to_string(i);
    co_await socket.async_send_text(text, net::use_awaitable);
    const std::string got = co_await socket.async_receive_text(net::use_awaitable);
    if (got != text) throw std::runtime_error("expected '" + text + "', got '" + got + "'");
  }
}

}  // namespace

TEST(WebSocketCoroutineReads, RoundTripsAndTheContextsRunReturns) {
  auto socket = open_echo(ct::test_ca_backend());
  net::io_context io;
  const auto t0 = std::chrono::steady_clock::now();
  run_coroutine(io, [&]() -> net::awaitable<void> { co_await round_trips(socket, "a", 300); });
  // A read left pending on the context would have kept run_for() going for its 10 s.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  socket.close();
}

TEST(WebSocketCoroutineReads, RoundTripsDoNotWaitForABusyIoThread) {
  // A coroutine makes round trips without pause on its own thread. Meanwhile a listener on the
  // same backend holds the backend's only I/O thread for two seconds: the round trips go on,
  // since they read on the coroutine's context. (Had they waited for the I/O thread, none would
  // complete while it sleeps.)
  cr::asio_backend backend;
  auto socket = open_echo(backend);
  net::io_context io;
  std::atomic<int> done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        for (int i = 0; i < 1'000'000 && !stop; ++i) {
          co_await round_trips(socket, std::to_string(i), 1);
          ++done;
        }
      },
      [&](std::exception_ptr e) { failure = e; });
  std::thread runner([&] { io.run_for(20s); });
  for (int i = 0; i < 400 && done < 20; ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_GE(done.load(), 20) << "the round trips did not start";

  struct sleeper : ws::listener {
    std::atomic<bool> sleeping{false};
    void on_frame(const ws::frame&) override {
      sleeping = true;
      std::this_thread::sleep_for(2s);
      sleeping = false;
    }
  };
  auto busy = std::make_shared<sleeper>();
  auto other = cr::basic_request()
                   .get(cr::uri(ct::ws_url("/echo")))
                   .open_websocket(backend, ws::low_level{busy})
                   .result;
  other.send_text("hold the I/O thread");
  for (int i = 0; i < 400 && !busy->sleeping; ++i)
    std::this_thread::sleep_for(5ms);
  const int before = done;
  std::this_thread::sleep_for(500ms);
  const int during = done - before;
  const bool still_sleeping = busy->sleeping;
  stop = true;
  runner.join();
  if (failure) std::rethrow_exception(failure);
  ASSERT_TRUE(still_sleeping) << "the listener did not hold the I/O thread for the whole window";
  EXPECT_GE(during, 20) << "round trips waited for the busy I/O thread";
  socket.close();
}

TEST(WebSocketCoroutineReads, LargeMessagesComeBackIntact) {
  auto socket = open_echo(ct::test_ca_backend());
  net::io_context io;
  run_coroutine(io, [&]() -> net::awaitable<void> {
    co_await round_trips(socket, "small", 3);
    for (std::size_t size : {std::size_t{1} << 20, std::size_t{70} * 1024, std::size_t{5}}) {
      std::string payload(size, '\0');
      for (std::size_t i = 0; i < size; ++i)
        payload[i] = static_cast<char>((i * 7919) >> 3);
      co_await socket.async_send(ws::frame::binary(std::string(payload)), net::use_awaitable);
      auto m = co_await socket.async_receive_message(net::use_awaitable);
      if (m.data != payload) throw std::runtime_error("a large message came back changed");
    }
  });
  socket.close();
}

TEST(WebSocketCoroutineReads, PingIsAnsweredWhileTheCoroutineWaitsForSomethingElse) {
  std::atomic<bool> got_pong{false};
  ct::fault_server server(upgrade_then([&](ct::connection& c) {
    auto read_frame_op = [&c] { return ct::read_small_client_frame(c); };
    for (int i = 0; i < 3; ++i) {
      read_frame_op();
      c.write(server_frame(0x1, "reply"));
    }
    c.pause(300ms);  // the coroutine waits on a timer now, with no receive pending
    c.write(server_frame(0x9, "are you there"));
    got_pong = read_frame_op() == 0xA;
    c.write(server_frame(0x1, "done"));
    c.wait_for_peer_close(2s);
  }));
  auto socket = cr::basic_request()
                    .get(cr::uri("ws://127.0.0.1:" + std::to_string(server.port()) + "/"))
                    .open_websocket(ct::test_ca_backend(), ws::high_level{})
                    .result;
  net::io_context io;
  run_coroutine(io, [&]() -> net::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      co_await socket.async_send_text("go", net::use_awaitable);
      if (co_await socket.async_receive_text(net::use_awaitable) != "reply")
        throw std::runtime_error("no reply");
    }
    net::steady_timer wait(co_await net::this_coro::executor, 1s);
    co_await wait.async_wait(net::use_awaitable);
    if (!got_pong) throw std::runtime_error("the ping was not answered");
    if (co_await socket.async_receive_text(net::use_awaitable) != "done")
      throw std::runtime_error("no done");
  });
  EXPECT_TRUE(got_pong);
}

TEST(WebSocketCoroutineReads, BlockingReceivesTakeOverRightAway) {
  auto socket = open_echo(ct::test_ca_backend());
  net::io_context io;
  for (int turn = 0; turn < 5; ++turn) {
    run_coroutine(io, [&]() -> net::awaitable<void> { co_await round_trips(socket, "co", 10); });
    // Within the moment the context keeps the socket: a blocking receive takes it at once.
    for (int i = 0; i < 10; ++i) {
      socket.send_text("sync " + std::to_string(i));
      ASSERT_EQ(socket.receive_text(), "sync " + std::to_string(i));
    }
  }
  socket.close();
}

TEST(WebSocketCoroutineReads, TwoContextsOneAfterTheOther) {
  auto socket = open_echo(ct::test_ca_backend());
  {
    net::io_context first;
    run_coroutine(first, [&]() -> net::awaitable<void> { co_await round_trips(socket, "1", 20); });
  }  // destroyed while it keeps the socket: reading goes back to the I/O thread
  net::io_context second;
  run_coroutine(second, [&]() -> net::awaitable<void> { co_await round_trips(socket, "2", 20); });
  socket.send_text("sync");
  EXPECT_EQ(socket.receive_text(), "sync");
  // Nothing reads for a while: the backend's I/O thread reads again, and still loses nothing.
  std::this_thread::sleep_for(200ms);
  socket.send_text("later");
  std::this_thread::sleep_for(100ms);
  auto later = socket.async_receive_text(net::use_future);
  ASSERT_EQ(later.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(later.get(), "later");
  socket.close();
}

// Destroys the context while a receive waits on it. `idle_first` lets the socket sit unread
// long enough for the I/O thread to take reading back before the receive starts.
void destroy_context_with_receive_pending(std::chrono::milliseconds idle_first) {
  auto socket = open_echo(ct::test_ca_backend());
  std::optional<net::io_context> io(std::in_place);
  run_coroutine(*io, [&]() -> net::awaitable<void> { co_await round_trips(socket, "x", 3); });
  std::this_thread::sleep_for(idle_first);
  bool received = false;
  net::co_spawn(
      *io,
      [&]() -> net::awaitable<void> {
        co_await socket.async_receive_text(net::use_awaitable);  // nothing comes
        received = true;
      },
      [](std::exception_ptr) {});
  io->restart();
  io->run_for(200ms);  // the receive waits
  ASSERT_FALSE(received);
  // Bytes read for the receive could go with the context, and the receive's handler goes with
  // it: the socket is failed (the pending receive gets the error), not left with a hole in its
  // stream or a receive that can never complete.
  io.reset();
  EXPECT_FALSE(socket.is_open());
  EXPECT_THROW(socket.receive_text(2s), cr::websocket_closed);
}

TEST(WebSocketCoroutineReads, DestroyingTheContextWithAReceivePendingFailsTheSocket) {
  destroy_context_with_receive_pending(0ms);
}

TEST(WebSocketCoroutineReads, DestroyingTheContextFailsTheSocketAlsoWhenTheIoThreadReads) {
  // Idle for longer than the parked-reader check: the backend's I/O thread reads again.
  destroy_context_with_receive_pending(300ms);
}

TEST(WebSocketCoroutineReads, CloseFromACoroutineCompletes) {
  auto socket = open_echo(ct::test_ca_backend());
  net::io_context io;
  run_coroutine(io, [&]() -> net::awaitable<void> {
    co_await round_trips(socket, "c", 10);
    co_await socket.async_close(ws::close_code::normal, "bye", net::use_awaitable);
  });
  EXPECT_FALSE(socket.is_open());
  EXPECT_THROW(socket.receive_text(), cr::websocket_closed);
}

TEST(WebSocketCoroutineReads, SecureSocketsStillWork) {
  // TLS is read by the I/O thread only: the receive falls back to it.
  auto socket = cr::basic_request()
                    .get(cr::uri(ct::wss_url("/echo")))
                    .open_websocket(ct::test_ca_backend(), ws::high_level{})
                    .result;
  net::io_context io;
  run_coroutine(io, [&]() -> net::awaitable<void> { co_await round_trips(socket, "tls", 20); });
  socket.close();
}
