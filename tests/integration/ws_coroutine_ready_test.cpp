// A coroutine's receive of a message already buffered, and its send of a frame queued at once,
// go on without a round through the coroutine's io_context (use_awaitable only). These check
// that this changes nothing a coroutine can see but the cost: order, content, errors and
// cancellation stay as they were, the stack does not grow however many operations are ready
// in a row, and other work on the io_context still gets its turn.
#include <courier/courier.hpp>

#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"
#include "support/ws_frames.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

namespace cr = courier;
namespace ws = courier::ws;
namespace ct = courier::test;
namespace net = boost::asio;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using ct::server_frame;
using ct::upgrade_then;

namespace {

ws::websocket open_on(const ct::fault_server& server, ws::buffer_options o = {}) {
  return cr::basic_request()
      .get(cr::uri(server.url("ws", "/")))
      .open_websocket(ct::default_backend(), ws::high_level{o})
      .result;
}

// The payload of message `i`: its number, so that order and content can be checked.
std::string numbered(int i) {
  return "m" + std::to_string(i);
}

// Answers the client's close frame (reading past anything else it sends) and waits for the
// TCP connection to end.
void answer_close(ct::connection& c) {
  for (int i = 0; i < 1000; ++i) {
    const auto f = ct::read_client_frame(c);
    if (f.opcode == 0x8) {
      c.write(server_frame(0x8, f.payload));
      break;
    }
  }
  c.wait_for_peer_close(10s);
}

// A server that sends `count` numbered binary messages in one write, then waits for the
// client to close.
ct::fault_server::script sends_numbered(int count) {
  return upgrade_then([count](ct::connection& c) {
    std::string burst;
    for (int i = 0; i < count; ++i)
      burst += server_frame(0x2, numbered(i));
    c.write(burst);
    answer_close(c);
  });
}

// Where this call's frame is on the stack: resumed the same way each time, a coroutine finds
// it at the same place; resumed from within the previous operation's completion, deeper.
[[gnu::noinline]] std::uintptr_t stack_position() {
  return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}

// Runs `body` as a coroutine on `io` (made for one thread) until it ends, at most 20 s.
// Returns how many handlers io ran.
template <class F>
std::size_t run_coroutine(net::io_context& io, F body) {
  std::exception_ptr failure;
  bool ended = false;
  net::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    failure = e;
    ended = true;
  });
  const std::size_t handlers = io.run_for(20s);
  EXPECT_TRUE(ended) << "the coroutine did not end within 20 s";
  if (failure) std::rethrow_exception(failure);
  return handlers;
}

}  // namespace

TEST(WebSocketReadyInCoroutine, BufferedMessagesInOrderWithoutAPostEachAndWithAFlatStack) {
  constexpr int count = 100'000;
  ct::fault_server server(sends_numbered(count));
  auto socket = open_on(server);
  net::io_context io(1);
  std::uintptr_t lowest = UINTPTR_MAX, highest = 0;
  const auto handlers = run_coroutine(io, [&]() -> net::awaitable<void> {
    const auto thread = std::this_thread::get_id();
    const auto executor = co_await net::this_coro::executor;
    for (int i = 0; i < count; ++i) {
      const ws::message m = co_await socket.async_receive_message(net::use_awaitable);
      if (m.data != numbered(i) || m.type != ws::opcode::binary)
        throw std::runtime_error("message " + std::to_string(i) + " came as '" + m.data + "'");
      // Resumed on its own executor, on the thread that runs it.
      if (std::this_thread::get_id() != thread || co_await net::this_coro::executor != executor)
        throw std::runtime_error("resumed elsewhere at message " + std::to_string(i));
      const std::uintptr_t at = stack_position();
      lowest = std::min(lowest, at);
      highest = std::max(highest, at);
    }
    co_await socket.async_close(ws::close_code::normal, "", net::use_awaitable);
  });
  // Each nested resumption would take a few hundred bytes of stack: 100,000 in a row would
  // take megabytes (or overflow). Resumed from the coroutine's own loop, it stays put.
  EXPECT_LT(highest - lowest, 4096u);
  // Posting every completion would run at least one handler per message.
  EXPECT_LT(handlers, static_cast<std::size_t>(count / 4));
  EXPECT_TRUE(server.script_errors().empty())
      << (server.script_errors().empty() ? "" : server.script_errors().front());
}

TEST(WebSocketReadyInCoroutine, OtherWorkOnTheContextRunsWhileMessagesAreReady) {
  constexpr int count = 100'000;
  ct::fault_server server(sends_numbered(count));
  ws::buffer_options unbounded;
  unbounded.capacity = std::nullopt;  // the whole burst is buffered before the receives
  auto socket = open_on(server, unbounded);
  net::io_context io(1);
  bool receiving = true;  // both coroutines run on this thread
  int other_turns = 0;
  // Another coroutine that only yields: it runs whenever the io_context gets to its queue.
  net::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        while (receiving) {
          ++other_turns;
          co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
        }
      },
      [](std::exception_ptr) {});
  int turns_while_receiving = 0;
  run_coroutine(io, [&]() -> net::awaitable<void> {
    co_await socket.async_receive_message(net::use_awaitable);
    net::steady_timer pause(co_await net::this_coro::executor, 300ms);
    co_await pause.async_wait(net::use_awaitable);
    const int before = other_turns;
    for (int i = 1; i < count; ++i) {
      const ws::message m = co_await socket.async_receive_message(net::use_awaitable);
      if (m.data != numbered(i)) throw std::runtime_error("message " + std::to_string(i));
    }
    turns_while_receiving = other_turns - before;
    receiving = false;
    co_await socket.async_close(ws::close_code::normal, "", net::use_awaitable);
  });
  // Every receive finds its message buffered, yet the receiving coroutine lets the io_context
  // run its queue once in every 16 of them: count / 16 turns for the other coroutine, where
  // never letting it would leave it none.
  EXPECT_GE(turns_while_receiving, count / 20);
}

TEST(WebSocketReadyInCoroutine, SendsQueuedAtOnceArriveInOrderWithoutAPostEach) {
  constexpr int count = 20'000;
  std::atomic<int> received{0};
  std::atomic<bool> in_order{true};
  ct::fault_server server(upgrade_then([&](ct::connection& c) {
    for (int i = 0; i < count; ++i) {
      const auto f = ct::read_client_frame(c);
      if (f.opcode != 0x1 || f.payload != numbered(i)) in_order = false;
      ++received;
    }
    c.write(server_frame(0x1, "all here"));
    answer_close(c);
  }));
  auto socket = open_on(server);
  net::io_context io(1);
  const auto handlers = run_coroutine(io, [&]() -> net::awaitable<void> {
    for (int i = 0; i < count; ++i)
      co_await socket.async_send_text(numbered(i), net::use_awaitable);
    EXPECT_EQ(co_await socket.async_receive_text(net::use_awaitable), "all here");
    co_await socket.async_close(ws::close_code::normal, "", net::use_awaitable);
  });
  EXPECT_EQ(received.load(), count);
  EXPECT_TRUE(in_order.load());
  EXPECT_LT(handlers, static_cast<std::size_t>(count / 4));
  EXPECT_TRUE(server.script_errors().empty())
      << (server.script_errors().empty() ? "" : server.script_errors().front());
}

TEST(WebSocketReadyInCoroutine, AReadyMessageOfTheOtherTypeThrowsAndIsConsumed) {
  ct::fault_server server(upgrade_then([](ct::connection& c) {
    c.write(server_frame(0x2, "bytes") + server_frame(0x1, "text") + server_frame(0x1, "next"));
    answer_close(c);
  }));
  auto socket = open_on(server);
  net::io_context io(1);
  run_coroutine(io, [&]() -> net::awaitable<void> {
    // All three are buffered before the first receive.
    net::steady_timer pause(co_await net::this_coro::executor, 200ms);
    co_await pause.async_wait(net::use_awaitable);
    EXPECT_THROW(co_await socket.async_receive_text(net::use_awaitable), cr::decode_error);
    EXPECT_THROW(co_await socket.async_receive_binary(net::use_awaitable), cr::decode_error);
    EXPECT_EQ(co_await socket.async_receive_text(net::use_awaitable), "next");
    co_await socket.async_close(ws::close_code::normal, "", net::use_awaitable);
  });
}

TEST(WebSocketReadyInCoroutine, AReceiveThatWaitsAfterReadyOnesIsStillCancelled) {
  constexpr int count = 1000;
  ct::fault_server server(upgrade_then([](ct::connection& c) {
    std::string burst;
    for (int i = 0; i < count; ++i)
      burst += server_frame(0x2, numbered(i));
    c.write(burst);
    ct::read_client_frame(c);  // the client's "go", after its receive was cancelled
    c.write(server_frame(0x1, "after"));
    answer_close(c);
  }));
  auto socket = open_on(server);
  net::io_context io(1);
  run_coroutine(io, [&]() -> net::awaitable<void> {
    for (int i = 0; i < count; ++i) {
      net::steady_timer timer(co_await net::this_coro::executor, 5s);
      auto got = co_await (socket.async_receive_message(net::use_awaitable) ||
                           timer.async_wait(net::use_awaitable));
      if (got.index() != 0 || std::get<0>(got).data != numbered(i))
        throw std::runtime_error("message " + std::to_string(i) + " missing");
    }
    // Nothing more is buffered: this receive waits, and the timer cancels it.
    net::steady_timer timer(co_await net::this_coro::executor, 100ms);
    const auto t0 = std::chrono::steady_clock::now();
    auto winner = co_await (socket.async_receive_text(net::use_awaitable) ||
                            timer.async_wait(net::use_awaitable));
    EXPECT_EQ(winner.index(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    // It took nothing: the next message is the one sent after it.
    co_await socket.async_send_text("go", net::use_awaitable);
    EXPECT_EQ(co_await socket.async_receive_text(net::use_awaitable), "after");
    co_await socket.async_close(ws::close_code::normal, "", net::use_awaitable);
  });
  EXPECT_TRUE(server.script_errors().empty())
      << (server.script_errors().empty() ? "" : server.script_errors().front());
}
