// WebSockets over the asio backend against python3-websockets (a real peer) and the
// in-process fault server (for what a polite server never does).
#include <courier/courier.hpp>
#include <courier/ws/stream.hpp>

#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"
#include "support/ws_frames.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

namespace cr = courier;
namespace ws = courier::ws;
namespace ct = courier::test;
using ct::server_frame;
using ct::upgrade_then;
using namespace std::chrono_literals;

namespace {
cr::asio_backend& backend() {
  return ct::test_ca_backend();
}

ws::websocket open(const std::string& path, ws::buffer_options opts = {}) {
  return cr::basic_request()
      .get(cr::uri(ct::ws_url(path)))
      .open_websocket(backend(), ws::high_level{opts})
      .result;
}

template <class E, class F>
E expect_error(F f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    throw;
  }
  ADD_FAILURE() << "no exception";
  throw std::runtime_error("no exception");
}

// A high-level websocket to the fault server.
ws::websocket open_on(const ct::fault_server& server, ws::buffer_options opts = {}) {
  return cr::basic_request()
      .get(cr::uri("ws://127.0.0.1:" + std::to_string(server.port()) + "/"))
      .open_websocket(backend(), ws::high_level{opts})
      .result;
}

}  // namespace

// --- the seed: open, send, receive, close ----------------------------------------------------

TEST(WebSocket, EchoTextAndBinaryThenCloseHandshake) {
  auto res = cr::basic_request()
                 .get(cr::uri(ct::ws_url("/echo")))
                 .open_websocket(backend(), ws::high_level{});
  EXPECT_EQ(res.status, 101);
  EXPECT_TRUE(res.headers.contains("Sec-WebSocket-Accept"));
  ws::websocket socket = res.result;
  EXPECT_TRUE(socket.is_open());
  socket.send_text("Hello!");
  EXPECT_EQ(socket.receive_text(), "Hello!");
  std::string bytes("\x00\x01\xff\xfe", 4);
  socket.send_binary(bytes);
  auto got = socket.receive_binary();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[2], std::byte{0xff});
  socket.close();
  EXPECT_FALSE(socket.is_open());
  auto first = socket.receive();
  ASSERT_TRUE(std::holds_alternative<ws::close_event>(first));
  EXPECT_EQ(std::get<ws::close_event>(first).code, 1000);
  auto closed = expect_error<cr::websocket_closed>([&] { socket.receive(); });
  EXPECT_EQ(closed.close().code, 1000);
  EXPECT_THROW(socket.send_text("late"), cr::websocket_closed);
}

TEST(WebSocket, HttpSchemeIsTakenAsItsWebSocketTwin) {
  auto url = "http://127.0.0.1:" + ct::env("WS_PORT") + "/echo";
  auto socket =
      cr::basic_request().get(cr::uri(url)).open_websocket(backend(), ws::high_level{}).result;
  socket.send_text("twin");
  EXPECT_EQ(socket.receive_text(), "twin");
  socket.close();
}

TEST(WebSocket, SecureEcho) {
  auto socket = cr::basic_request()
                    .get(cr::uri(ct::wss_url("/echo")))
                    .open_websocket(backend(), ws::high_level{})
                    .result;
  socket.send_text("over TLS");
  EXPECT_EQ(socket.receive_text(), "over TLS");
  socket.close();
}

TEST(WebSocket, WssWithUntrustedCaIsATlsError) {
  cr::asio_backend plain;  // system store only
  EXPECT_THROW(cr::basic_request()
                   .get(cr::uri(ct::wss_url("/echo")))
                   .open_websocket(plain, ws::high_level{}),
               cr::tls_error);
}

TEST(WebSocket, ConnectFailureIsAConnectError) {
  EXPECT_THROW(cr::basic_request()
                   .get(cr::uri("ws://127.0.0.1:1/"))
                   .open_websocket(backend(), ws::high_level{}),
               cr::connect_error);
}

TEST(WebSocket, DestroyingTheBackendFailsOpenSocketsInsteadOfHanging) {
  std::optional<cr::asio_backend> local(std::in_place);
  auto socket = cr::basic_request()
                    .get(cr::uri(ct::ws_url("/echo")))
                    .open_websocket(*local, ws::high_level{})
                    .result;
  std::thread receiver([&] { EXPECT_THROW(socket.receive(), cr::operation_aborted); });
  std::this_thread::sleep_for(100ms);  // the receiver is waiting
  local.reset();
  receiver.join();
  EXPECT_THROW(socket.receive(), cr::operation_aborted);
  EXPECT_FALSE(socket.is_open());
}

TEST(WebSocket, FragmentsAreSentAndJoined) {
  auto socket = open("/echo");
  socket.send(ws::frame::text("Hel", false));
  socket.send(ws::frame::text("lo, ", false), true);
  socket.send(ws::frame::text("world", true), true);
  EXPECT_EQ(socket.receive_text(), "Hello, world");
  socket.close();
}

TEST(WebSocket, IncomingFragmentsAreVisibleToReceive) {
  ct::fault_server server(upgrade_then([](ct::connection& c) {
    c.write(server_frame(1, "frag", false) + server_frame(0, "ment", false) +
            server_frame(0, "ed", true) + server_frame(2, "abc", false) +
            server_frame(0, "def", true));
    c.wait_for_peer_close(3s);
  }));
  auto u = "ws://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto socket =
      cr::basic_request().get(cr::uri(u)).open_websocket(backend(), ws::high_level{}).result;
  auto f1 = std::get<ws::frame>(socket.receive());
  EXPECT_EQ(f1.op, ws::opcode::text);
  EXPECT_FALSE(f1.fin);
  EXPECT_EQ(f1.payload, "frag");
  auto f2 = std::get<ws::frame>(socket.receive());
  EXPECT_EQ(f2.op, ws::opcode::continuation);
  EXPECT_FALSE(f2.fin);
  auto f3 = std::get<ws::frame>(socket.receive());
  EXPECT_TRUE(f3.fin);
  EXPECT_EQ(f3.payload, "ed");
  auto bin = socket.receive_binary();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bin.data()), bin.size()), "abcdef");
  socket.close();
}

TEST(WebSocket, ServerInitiatedCloseIsReportedOnceThenWebsocketClosed) {
  auto socket = open("/close-after-hello");
  EXPECT_EQ(socket.receive_text(), "hello");
  auto ev = socket.receive();
  ASSERT_TRUE(std::holds_alternative<ws::close_event>(ev));
  EXPECT_EQ(std::get<ws::close_event>(ev).code, 1001);
  EXPECT_EQ(std::get<ws::close_event>(ev).reason, "going away");
  auto e = expect_error<cr::websocket_closed>([&] { socket.receive(); });
  EXPECT_EQ(e.close().code, 1001);
  EXPECT_FALSE(socket.is_open());
}

TEST(WebSocket, PingsAreAnsweredAutomaticallyOrSurfaced) {
  {
    auto socket = open("/ping");
    socket.send_text("after ping");
    EXPECT_EQ(socket.receive_text(), "after ping");  // the ping was answered, not surfaced
    socket.close();
  }
  {
    ws::buffer_options o;
    o.surface_pings = true;
    auto socket = open("/ping", o);
    auto f = std::get<ws::frame>(socket.receive());
    EXPECT_EQ(f.op, ws::opcode::ping);
    EXPECT_EQ(f.payload, "are you there");
    socket.ping("p1");
    auto pong = std::get<ws::frame>(socket.receive());
    EXPECT_EQ(pong.op, ws::opcode::pong);
    EXPECT_EQ(pong.payload, "p1");
    socket.close();
  }
}

TEST(WebSocket, ExtraUpgradeHeadersAreSent) {
  auto socket = cr::basic_request()
                    .header("Authorization", "Bearer t0ken")
                    .header("Cookie", "a=b")
                    .header("Origin", "https://courier.example")
                    .get(cr::uri(ct::ws_url("/headers")))
                    .open_websocket(backend(), ws::high_level{})
                    .result;
  auto text = socket.receive_text();
  EXPECT_NE(text.find("Bearer t0ken"), std::string::npos) << text;
  EXPECT_NE(text.find("a=b"), std::string::npos) << text;
  EXPECT_NE(text.find("https://courier.example"), std::string::npos) << text;
  socket.close();
}

TEST(WebSocket, SubprotocolNegotiation) {
  ws::buffer_options o;
  o.connection.subprotocols = {"chat.v2", "chat.v1"};
  auto res = cr::basic_request()
                 .get(cr::uri(ct::ws_url("/subprotocol")))
                 .open_websocket(backend(), ws::high_level{o});
  ASSERT_TRUE(res.subprotocol.has_value());
  EXPECT_EQ(*res.subprotocol, "chat.v2");
  EXPECT_EQ(res.result.subprotocol(), "chat.v2");
  EXPECT_EQ(res.result.receive_text(), "selected:chat.v2");
  res.result.close();

  // Offered through the header, as sttp users do.
  auto via_header = cr::basic_request()
                        .header("Sec-WebSocket-Protocol", "chat.v1")
                        .get(cr::uri(ct::ws_url("/subprotocol")))
                        .open_websocket(backend(), ws::high_level{});
  EXPECT_EQ(via_header.subprotocol, "chat.v1");
  via_header.result.close();
}

TEST(WebSocket, PermessageDeflate) {
  ws::buffer_options o;
  o.connection.compression = ws::compression_options{};
  auto socket = open("/echo-deflate", o);
  EXPECT_TRUE(socket.compressed());
  EXPECT_NE(socket.upgrade_headers().get("Sec-WebSocket-Extensions")->find("permessage-deflate"),
            std::string::npos);
  std::string big(200000, 'z');
  for (int i = 0; i < 3; ++i) {
    socket.send_text(big);
    EXPECT_EQ(socket.receive_text(), big);
  }
  socket.send_text("small");
  EXPECT_EQ(socket.receive_text(), "small");
  socket.close();
}

TEST(WebSocket, LargeBinaryFromTheServer) {
  auto socket = open("/bytes/3000000");
  auto got = socket.receive_binary();
  ASSERT_EQ(got.size(), 3000000u);
  for (std::size_t i = 0; i < got.size(); i += 4099)
    ASSERT_EQ(got[i], std::byte(i % 256));
  socket.close();
}

TEST(WebSocket, MaxMessageSizeClosesWith1009) {
  ws::buffer_options o;
  o.connection.max_message_size = 1000;
  auto socket = open("/bytes/5000", o);
  auto e = expect_error<cr::error>([&] { socket.receive(); });
  EXPECT_NE(std::string(e.what()).find("1009"), std::string::npos) << e.what();
  auto ev = socket.receive();
  ASSERT_TRUE(std::holds_alternative<ws::close_event>(ev));
  EXPECT_EQ(std::get<ws::close_event>(ev).code, 1009);
}

// --- upgrade failures --------------------------------------------------------------------------

TEST(WebSocketUpgrade, UnauthorizedWithBody) {
  auto e = expect_error<cr::websocket_upgrade_failed>([] { open("/reject-401"); });
  EXPECT_EQ(e.status(), 401);
  EXPECT_EQ(e.body(), "no entry");
  EXPECT_TRUE(e.headers().contains("WWW-Authenticate"));
  EXPECT_EQ(e.code(), cr::errc::websocket_upgrade_failed);
}

TEST(WebSocketUpgrade, PlainOkAndNotFound) {
  auto ok = expect_error<cr::websocket_upgrade_failed>([] { open("/plain-200"); });
  EXPECT_EQ(ok.status(), 200);
  EXPECT_EQ(ok.body(), "not a websocket\n");
  auto missing = expect_error<cr::websocket_upgrade_failed>([] { open("/no-such-path"); });
  EXPECT_EQ(missing.status(), 404);
}

TEST(WebSocketUpgrade, WrongAcceptValue) {
  ct::fault_server server([](ct::connection& c) {
    c.read_request_head();
    c.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: d3JvbmcgdmFsdWUgaGVyZQ==\r\n\r\n");
    c.wait_for_peer_close(3s);
  });
  auto e = expect_error<cr::websocket_upgrade_failed>([&] {
    cr::basic_request()
        .get(cr::uri("ws://127.0.0.1:" + std::to_string(server.port()) + "/"))
        .open_websocket(backend(), ws::high_level{});
  });
  EXPECT_EQ(e.status(), 101);
  EXPECT_NE(std::string(e.what()).find("Accept"), std::string::npos) << e.what();
}

TEST(WebSocketUpgrade, SubprotocolNeverOffered) {
  ct::fault_server server(upgrade_then([](ct::connection& c) { c.wait_for_peer_close(3s); },
                                       "Sec-WebSocket-Protocol: bogus\r\n"));
  auto e = expect_error<cr::websocket_upgrade_failed>([&] {
    cr::basic_request()
        .get(cr::uri("ws://127.0.0.1:" + std::to_string(server.port()) + "/"))
        .open_websocket(backend(), ws::high_level{});
  });
  EXPECT_NE(std::string(e.what()).find("bogus"), std::string::npos) << e.what();
}

// --- what polite servers never do ---------------------------------------------------------------

TEST(WebSocketFaults, InvalidUtf8IsA1007ProtocolError) {
  ct::fault_server server(upgrade_then([](ct::connection& c) {
    c.write(server_frame(1, "bad \xff\xfe text"));
    c.wait_for_peer_close(3s);
  }));
  auto socket = open_on(server);
  auto e = expect_error<cr::protocol_error>([&] { socket.receive(); });
  EXPECT_NE(std::string(e.what()).find("1007"), std::string::npos) << e.what();
  auto ev = socket.receive();
  EXPECT_EQ(std::get<ws::close_event>(ev).code, 1007);
}

TEST(WebSocketFaults, InvalidUtf8DeepInALargeTextFrameIs1007) {
  // A long payload is read straight into its message; it is still validated as it lands.
  constexpr std::size_t size = 1 << 20;
  ct::fault_server server(upgrade_then([](ct::connection& c) {
    std::string frame = "\x81\x7f";
    for (int shift = 56; shift >= 0; shift -= 8)
      frame += static_cast<char>((std::uint64_t{size} >> shift) & 0xff);
    c.write(frame);
    std::string payload(size, 'x');
    payload[900 * 1024] = '\xc0';  // never valid in UTF-8
    for (std::size_t at = 0; at < size; at += 128 * 1024) {
      c.write(std::string_view(payload).substr(at, 128 * 1024));
      c.pause(5ms);  // several reads, most of them into the message
    }
    c.wait_for_peer_close(3s);
  }));
  auto socket = open_on(server);
  auto e = expect_error<cr::protocol_error>([&] { socket.receive(); });
  EXPECT_NE(std::string(e.what()).find("1007"), std::string::npos) << e.what();
}

TEST(WebSocketFaults, MaskedServerFrameAndReservedBits) {
  for (std::string bad : {std::string("\x81\x82"
                                      "abcd"
                                      "xx",
                                      8),
                          server_frame(1, "rsv", true, 2), server_frame(3, "reserved opcode"),
                          server_frame(0, "no start")}) {
    ct::fault_server server(upgrade_then([bad](ct::connection& c) {
      c.write(bad);
      c.wait_for_peer_close(3s);
    }));
    auto socket = open_on(server);
    auto e = expect_error<cr::protocol_error>([&] { socket.receive(); });
    EXPECT_NE(std::string(e.what()).find("1002"), std::string::npos) << e.what();
  }
}

TEST(WebSocketFaults, PeerVanishesMidFrame) {
  ct::fault_server server(upgrade_then([](ct::connection& c) {
    c.write(std::string("\x82\x7e\x10\x00", 4) + std::string(100, 'x'));  // promises 4096 bytes
    c.reset();
  }));
  auto socket = open_on(server);
  EXPECT_THROW(socket.receive(), cr::read_error);
  auto ev = socket.receive();
  EXPECT_EQ(std::get<ws::close_event>(ev).code, 1006);
  EXPECT_THROW(socket.receive(), cr::websocket_closed);
}

TEST(WebSocketFaults, KeepAliveNoticesADeadPeer) {
  ct::fault_server server(upgrade_then([](ct::connection& c) {
    c.wait_for_peer_close(5s);  // reads and ignores our pings
  }));
  ws::buffer_options o;
  o.connection.ping_interval = 100ms;
  o.connection.pong_timeout = 200ms;
  auto socket = open_on(server, o);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(socket.receive(), cr::timeout_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(WebSocketFaults, CloseHandshakeTimeout) {
  ct::fault_server server(upgrade_then([](ct::connection& c) { c.wait_for_peer_close(5s); }));
  ws::buffer_options o;
  o.connection.close_timeout = 200ms;
  auto socket = open_on(server, o);
  auto t0 = std::chrono::steady_clock::now();
  socket.close();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  auto ev = socket.receive();
  EXPECT_EQ(std::get<ws::close_event>(ev).code, 1006);
}

// --- the buffer of incoming events ----------------------------------------------------------

TEST(WebSocketBuffer, OnFullFailErrorsAndCloses) {
  ws::buffer_options o;
  o.capacity = 4;
  o.on_full = ws::on_full::fail;
  auto socket = open("/echo", o);
  try {
    for (int i = 0; i < 20; ++i)
      socket.send_text("m" + std::to_string(i));
  } catch (const cr::websocket_closed&) {
    // The echoes overflowed the buffer while we were still sending: closed, as configured.
  }
  std::this_thread::sleep_for(300ms);
  int received = 0;
  bool full = false;
  for (int i = 0; i < 30 && !full; ++i) {
    try {
      socket.receive_text();
      ++received;
    } catch (const cr::websocket_buffer_full&) {
      full = true;
    }
  }
  EXPECT_TRUE(full);
  EXPECT_LE(received, 4);
  EXPECT_FALSE(socket.is_open());
}

TEST(WebSocketBuffer, BackpressureLosesNothing) {
  ws::buffer_options o;
  o.capacity = 4;
  o.on_full = ws::on_full::backpressure;
  auto socket = open("/echo", o);
  constexpr int n = 300;
  std::thread writer([&] {
    for (int i = 0; i < n; ++i)
      socket.send_text("message " + std::to_string(i));
  });
  std::this_thread::sleep_for(200ms);  // let the buffer fill and reading stop
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(socket.receive_text(), "message " + std::to_string(i));
  writer.join();
  socket.close();
}

TEST(WebSocketBuffer, UnboundedKeepsEverything) {
  ws::buffer_options o;
  o.capacity = std::nullopt;
  auto socket = open("/echo", o);
  for (int i = 0; i < 200; ++i)
    socket.send_text(std::to_string(i));
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(socket.receive_text(), std::to_string(i));
  socket.close();
}

TEST(WebSocketBuffer, OutgoingQueueBoundWithFailPolicy) {
  // A peer that never reads: the socket buffers fill, and then so does our outgoing queue.
  ct::fault_server server(
      upgrade_then([](ct::connection& c) { c.pause(std::chrono::milliseconds(3000)); }));
  ws::buffer_options o;
  o.connection.max_outgoing_bytes = 64 * 1024;
  o.connection.on_outgoing_full = ws::outgoing_full::fail;
  o.connection.close_timeout = 200ms;
  auto socket = open_on(server, o);
  std::string big(8 << 20, 'b');
  socket.async_send_binary(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(big.data()), big.size()),
      [](std::exception_ptr) {});
  std::this_thread::sleep_for(200ms);
  auto e = expect_error<cr::websocket_buffer_full>([&] { socket.send_text("one more"); });
  EXPECT_NE(std::string(e.what()).find("max_outgoing_bytes"), std::string::npos) << e.what();
  EXPECT_TRUE(socket.is_open()) << "fail policy keeps the connection";
}

TEST(WebSocketBuffer, BlockingSendsWaitForRoomInTheOutgoingQueue) {
  // A peer that reads nothing for 300 ms: the socket buffers fill, then the 64 KiB queue, and
  // each blocking send waits (outgoing_full::wait) until the writer has made room, is woken,
  // and goes out in order. The peer then counts every byte and answers with the total.
  constexpr int messages = 24;
  constexpr std::size_t size = 1 << 20;
  constexpr std::size_t frame_bytes = size + 14;  // 2 + 8 (64-bit length) + 4 (mask) + payload
  ct::fault_server server(upgrade_then([&](ct::connection& c) {
    c.pause(300ms);
    std::size_t got = 0;
    for (int i = 0; i < messages; ++i)
      got += c.read_exactly(frame_bytes).size();
    c.write(server_frame(1, std::to_string(got), true));
    c.wait_for_peer_close(3s);
  }));
  ws::buffer_options o;
  o.connection.max_outgoing_bytes = 64 * 1024;
  o.connection.close_timeout = 200ms;  // the peer does not answer the close
  auto socket = open_on(server, o);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < messages; ++i)
    socket.send_binary(std::string(size, static_cast<char>('a' + i)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms) << "the sends waited for the peer";
  EXPECT_EQ(socket.receive_text(), std::to_string(messages * frame_bytes));
  socket.close();
}

// --- concurrency ---------------------------------------------------------------------------------

TEST(WebSocketThreads, ConcurrentSendsAreNeverInterleaved) {
  auto socket = open("/echo");
  constexpr int threads = 4, per_thread = 100;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        if (i % 10 == 0) {  // a fragmented message now and then
          socket.send(ws::frame::text("t" + std::to_string(t) + ":", false));
          socket.send(ws::frame::text(std::to_string(i) + std::string(3000, 'a' + t), true), true);
        } else {
          socket.send_text("t" + std::to_string(t) + ":" + std::to_string(i) +
                           std::string(3000, 'a' + t));
        }
      }
    });
  }
  std::vector<int> next(threads, 0);
  for (int k = 0; k < threads * per_thread; ++k) {
    auto m = socket.receive_text();
    int t = m[1] - '0';
    auto colon = m.find(':');
    int i = std::stoi(m.substr(colon + 1));
    ASSERT_EQ(i, next[t]) << "messages of one thread arrive in order";
    ++next[t];
    ASSERT_EQ(m.size(), colon + 1 + std::to_string(i).size() + 3000);
    ASSERT_EQ(m.back(), static_cast<char>('a' + t)) << "no bytes of another message inside";
  }
  for (auto& th : pool)
    th.join();
  socket.close();
}

// --- blocking receives reading on their own thread ----------------------------------------
// After a blocking round trip the I/O thread stops reading and each blocking receive reads
// the socket itself; these check that nothing the background reader did is lost meanwhile.

TEST(WebSocketCallerReads, AsyncReceiveAfterBlockingRoundTrips) {
  auto socket = open("/echo");
  for (int i = 0; i < 20; ++i) {
    socket.send_text("sync " + std::to_string(i));
    ASSERT_EQ(socket.receive_text(), "sync " + std::to_string(i));
  }
  // Nobody blocks in a receive now: the async one must restart reading in the background.
  auto next = socket.async_receive_text(boost::asio::use_future);
  socket.send_text("async");
  ASSERT_EQ(next.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(next.get(), "async");
  socket.send_text("sync again");
  EXPECT_EQ(socket.receive_text(), "sync again");
  socket.close();
}

TEST(WebSocketCallerReads, AnotherThreadSendsWhileThisOneReads) {
  auto socket = open("/echo");
  socket.send_text("warm-up");
  ASSERT_EQ(socket.receive_text(), "warm-up");
  constexpr int count = 200;
  std::thread sender([&] {
    for (int i = 0; i < count; ++i) {
      socket.send_text(std::to_string(i));
      if (i % 16 == 0) std::this_thread::sleep_for(1ms);  // let the receiver block now and then
    }
  });
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(socket.receive_text(), std::to_string(i));
  }
  sender.join();
  socket.close();
}

TEST(WebSocketCallerReads, PingIsAnsweredWhileNobodyReceives) {
  std::atomic<bool> got_pong{false};
  ct::fault_server server(upgrade_then([&](ct::connection& c) {
    auto read_frame_op = [&c] { return ct::read_small_client_frame(c); };
    read_frame_op();  // "go"
    c.write(server_frame(0x1, "reply"));
    c.pause(300ms);  // the client is not receiving now
    c.write(server_frame(0x9, "are you there"));
    got_pong = read_frame_op() == 0xA;
    c.write(server_frame(0x1, "done"));
    c.wait_for_peer_close(2s);
  }));
  auto socket = open_on(server);
  socket.send_text("go");
  EXPECT_EQ(socket.receive_text(), "reply");
  std::this_thread::sleep_for(1s);  // the ping comes and must be answered meanwhile
  EXPECT_TRUE(got_pong);
  EXPECT_EQ(socket.receive_text(), "done");
}

TEST(WebSocketCallerReads, CloseWhileAnotherThreadBlocksInReceive) {
  auto socket = open("/echo");
  socket.send_text("warm-up");
  ASSERT_EQ(socket.receive_text(), "warm-up");
  std::thread receiver([&] { EXPECT_THROW(socket.receive_text(), cr::websocket_closed); });
  std::this_thread::sleep_for(100ms);  // blocked in recv() on its own thread
  auto t0 = std::chrono::steady_clock::now();
  socket.close();
  receiver.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_FALSE(socket.is_open());
}

TEST(WebSocketCallerReads, DestroyingTheBackendWakesABlockedReader) {
  std::optional<cr::asio_backend> local(std::in_place);
  auto socket = cr::basic_request()
                    .get(cr::uri(ct::ws_url("/echo")))
                    .open_websocket(*local, ws::high_level{})
                    .result;
  socket.send_text("warm-up");
  ASSERT_EQ(socket.receive_text(), "warm-up");
  std::thread receiver([&] { EXPECT_THROW(socket.receive(), cr::operation_aborted); });
  std::this_thread::sleep_for(100ms);
  local.reset();
  receiver.join();
  EXPECT_FALSE(socket.is_open());
}

// --- async, low level, streams
// --------------------------------------------------------------------

TEST(WebSocketThreads, SyncSendReturnsOnceQueuedAndEverythingIsWrittenLater) {
  // A peer that reads nothing for 3 s: sends return once queued (not once written), and the
  // queued frames all reach the peer, in order, when it reads again.
  constexpr int frames = 24;
  constexpr std::size_t size = 1 << 20;
  constexpr std::size_t wire = size + 14;  // 10-byte header with a 64-bit length, 4-byte mask
  std::atomic<bool> all_read{false};
  ct::fault_server server(upgrade_then([&](ct::connection& c) {
    c.pause(std::chrono::milliseconds(3000));
    for (int i = 0; i < frames; ++i) {
      std::string f = c.read_exactly(wire);
      const auto* m = reinterpret_cast<const unsigned char*>(f.data()) + 10;
      // Unmask the first and last payload bytes: frame i carries 'a' + i.
      if ((static_cast<unsigned char>(f[14]) ^ m[0]) != 'a' + i ||
          (static_cast<unsigned char>(f[wire - 1]) ^ m[(size - 1) % 4]) != 'a' + i) {
        return;
      }
    }
    all_read = true;
    c.write(server_frame(1, "all read"));
    c.pause(std::chrono::milliseconds(500));
  }));
  ws::buffer_options o;
  o.connection.max_outgoing_bytes = std::size_t{64} << 20;
  auto socket = open_on(server, o);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < frames; ++i)
    socket.send_binary(std::string(size, static_cast<char>('a' + i)));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 2000ms) << "24 MiB are more than the socket buffers hold: send waited for "
                             "the peer instead of returning once queued";
  EXPECT_EQ(socket.receive_text(), "all read");
  EXPECT_TRUE(all_read.load());
}

TEST(WebSocketLarge, LargeMessagesComeBackIntact) {
  // Frames long enough to be read straight into their messages, text and binary, through the
  // sync and the async receive.
  auto socket = open("/echo");
  std::string binary(3 << 20, '\0');
  for (std::size_t i = 0; i < binary.size(); ++i)
    binary[i] = static_cast<char>((i * 7919) >> 3);
  std::string text;
  while (text.size() < (2 << 20))
    text += "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 plain words ";
  socket.send_binary(binary);
  socket.send_text(text);
  socket.send_binary(binary);
  EXPECT_EQ(socket.receive_message().data, binary);
  EXPECT_EQ(socket.receive_text(), text);
  EXPECT_EQ(socket.async_receive_message(boost::asio::use_future).get().data, binary);
}

TEST(WebSocketFragments, LargeMessagesLeaveInFragmentsOfFragmentSize) {
  // What the peer reads with fragment_size = 64 KiB: a 150 KiB message in three frames, the
  // first with the message's opcode, the others continuations, FIN on the last only.
  constexpr std::size_t size = 150 * 1024;
  std::vector<std::pair<int, std::size_t>> seen;  // (first header byte, payload length)
  std::string payload;
  std::mutex seen_mutex;  // the server's thread writes, the test reads
  ct::fault_server server(upgrade_then([&](ct::connection& c) {
    std::lock_guard lock(seen_mutex);
    for (int guard = 0; guard < 10; ++guard) {
      const std::string h = c.read_exactly(2);
      const auto b0 = static_cast<unsigned char>(h[0]);
      std::size_t len = static_cast<unsigned char>(h[1]) & 0x7f;
      if (len == 126) {
        const std::string e = c.read_exactly(2);
        len = (static_cast<std::size_t>(static_cast<unsigned char>(e[0])) << 8) |
              static_cast<unsigned char>(e[1]);
      } else if (len == 127) {
        const std::string e = c.read_exactly(8);
        len = 0;
        for (char ch : e)
          len = (len << 8) | static_cast<unsigned char>(ch);
      }
      const std::string key = c.read_exactly(4);
      std::string body = c.read_exactly(len);
      for (std::size_t i = 0; i < body.size(); ++i)
        body[i] = static_cast<char>(body[i] ^ key[i % 4]);
      payload += body;
      seen.emplace_back(b0, len);
      if (b0 & 0x80) break;
    }
    c.write(server_frame(1, "got it"));
  }));
  ws::buffer_options o;
  o.connection.fragment_size = 64 * 1024;
  auto socket = open_on(server, o);
  std::string sent(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    sent[i] = static_cast<char>(i % 251);
  socket.send_binary(sent);
  EXPECT_EQ(socket.receive_text(), "got it");
  std::lock_guard lock(seen_mutex);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_pair(0x02, std::size_t{65536}));
  EXPECT_EQ(seen[1], std::make_pair(0x00, std::size_t{65536}));
  EXPECT_EQ(seen[2], std::make_pair(0x80, size - 2 * 65536));
  EXPECT_EQ(payload, sent);
}

TEST(WebSocketFragments, LargeMessagesFromSeveralThreadsArriveWhole) {
  // Each message leaves as several frames; sends from other threads never land between them.
  ws::buffer_options o;
  o.connection.fragment_size = 16 * 1024;
  auto socket = open("/echo", o);
  constexpr int threads = 3, per_thread = 8;
  constexpr std::size_t size = 200 * 1024;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        socket.send_binary(std::string(size, static_cast<char>('a' + t * per_thread + i)));
    });
  }
  std::set<char> got;
  for (int k = 0; k < threads * per_thread; ++k) {
    const std::string m = socket.receive_message().data;
    ASSERT_EQ(m.size(), size);
    ASSERT_EQ(m.find_first_not_of(m[0]), std::string::npos) << "bytes of another message inside";
    got.insert(m[0]);
  }
  for (auto& th : pool)
    th.join();
  EXPECT_EQ(got.size(), static_cast<std::size_t>(threads * per_thread));
}

TEST(WebSocketThreads, BufferedMessagesAreServedInOrderToSeveralReceivers) {
  // Messages that are already buffered are taken on the receiving thread; with two threads
  // receiving, every message is delivered once and each thread sees them in order.
  ws::buffer_options o;
  o.capacity = std::nullopt;
  auto socket = open("/echo", o);
  constexpr int n = 1000;
  for (int i = 0; i < n; ++i)
    socket.send_text(std::to_string(i));
  std::vector<int> got[2];
  std::vector<std::thread> pool;
  for (int t = 0; t < 2; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < n / 2; ++i)
        got[t].push_back(std::stoi(socket.receive_text()));
    });
  }
  for (auto& th : pool)
    th.join();
  std::vector<int> all;
  for (auto& g : got) {
    EXPECT_TRUE(std::is_sorted(g.begin(), g.end()));
    all.insert(all.end(), g.begin(), g.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(all[static_cast<std::size_t>(i)], i);
  socket.close();
}

TEST(WebSocketAsync, CoroutineEcho) {
  boost::asio::io_context io;
  std::string got;
  bool ended = false;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto res =
            co_await cr::basic_request()
                .get(cr::uri(ct::ws_url("/echo")))
                .async_open_websocket(backend(), ws::high_level{}, boost::asio::use_awaitable);
        auto socket = res.result;
        co_await socket.async_send_text("async hello", boost::asio::use_awaitable);
        got = co_await socket.async_receive_text(boost::asio::use_awaitable);
        co_await socket.async_close(1000, "bye", boost::asio::use_awaitable);
        auto next = co_await ws::async_next_message(socket, boost::asio::use_awaitable);
        ended = !next.has_value();
      },  // the lambda itself, not a call: co_spawn keeps it (and its captures) alive
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run_for(10s);
  EXPECT_EQ(got, "async hello");
  EXPECT_TRUE(ended);
}

TEST(WebSocketAsync, FutureOpenAndErrorCode) {
  auto fut = cr::basic_request()
                 .get(cr::uri(ct::ws_url("/reject-401")))
                 .async_open_websocket(backend(), ws::high_level{}, boost::asio::use_future);
  try {
    fut.get();
    FAIL();
  } catch (const cr::error& e) {
    EXPECT_EQ(e.code(), cr::errc::websocket_upgrade_failed);
  }
}

namespace {
struct recording_listener : ws::listener {
  std::mutex m;
  std::vector<std::string> frames;
  std::optional<ws::close_event> closed;
  std::promise<void> done;
  bool opened = false;
  void on_open(ws::sender& out) override {
    opened = true;
    out.send_text("from on_open");
  }
  void on_frame(const ws::frame& f) override {
    std::lock_guard lock(m);
    frames.push_back(f.payload);
  }
  void on_close(const ws::close_event& e) override {
    closed = e;
    done.set_value();
  }
};
}  // namespace

TEST(WebSocketListener, CallbacksAndSender) {
  auto l = std::make_shared<recording_listener>();
  auto res = cr::basic_request()
                 .get(cr::uri(ct::ws_url("/close-after-hello")))
                 .open_websocket(backend(), ws::low_level{l});
  EXPECT_EQ(res.status, 101);
  ASSERT_EQ(l->done.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(l->opened);
  ASSERT_GE(l->frames.size(), 1u);
  EXPECT_EQ(l->frames[0], "hello");
  EXPECT_EQ(l->closed->code, 1001);
  EXPECT_FALSE(res.result.is_open());
}

TEST(WebSocketStreams, MessagesRangeAndPipe) {
  auto socket = open("/close-after-hello");
  std::vector<std::string> seen;
  auto range = socket.messages();
  for (auto& m : range)
    seen.push_back(m.data);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "hello");
  EXPECT_EQ(range.close()->code, 1001);

  auto echo = open("/echo");
  std::thread peer([&] {
    // pipe() runs on this thread: it answers each echo with the next number until 5, then closes.
    auto close = ws::pipe(echo, [&](ws::message m) -> std::optional<ws::message> {
      int n = std::stoi(m.data);
      if (n >= 5) {
        echo.close();
        return std::nullopt;
      }
      return ws::message::text(std::to_string(n + 1));
    });
    EXPECT_EQ(close.code, 1000);
  });
  echo.send_text("1");
  peer.join();
}
