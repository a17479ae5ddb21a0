// stub_backend answering WebSocket upgrades with scripts: the real client (upgrade, session,
// protocol core) runs against a scripted RFC 6455 server over an in-memory connection.
#include <courier/courier.hpp>
#include <courier/testing/stub_backend.hpp>
#include <courier/ws/stream.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

namespace cr = courier;
namespace ct = courier::testing;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

const cr::uri chat("wss://chat.example.org/room/1");

TEST(stub_ws, greeting_then_echo_then_client_close) {
  ct::stub_backend stub;
  auto script = ct::ws_script().send_text("welcome").echo();
  stub.when(ct::path_is("/room/1")).respond_websocket(script);
  auto r = cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{});
  EXPECT_EQ(r.status, 101);
  auto ws = r.result;
  EXPECT_EQ(ws.receive_text(), "welcome");
  ws.send_text("hello");
  EXPECT_EQ(ws.receive_text(), "hello");
  ws.send_binary(std::string("\x01\x02", 2));
  auto bin = ws.receive_binary();
  ASSERT_EQ(bin.size(), 2u);
  EXPECT_EQ(bin[1], std::byte{2});
  ws.close();
  EXPECT_FALSE(ws.is_open());
  EXPECT_EQ(script.received(),
            (std::vector<cr::ws::message>{cr::ws::message::text("hello"),
                                          cr::ws::message::binary(std::string("\x01\x02", 2))}));
  EXPECT_EQ(script.connections(), 1u);
  auto rec = stub.last_recorded();
  EXPECT_TRUE(rec.websocket);
  EXPECT_EQ(rec.status(), 101);
}

TEST(stub_ws, replies_computed_from_each_message_and_fragments_joined) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(ct::ws_script().reply([](const cr::ws::message& m) {
    return ct::ws_replies{cr::ws::frame::text("len=" + std::to_string(m.data.size())),
                          cr::ws::frame::text("up=" + m.data.substr(0, 1))};
  }));
  auto ws = cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{}).result;
  ws.send(cr::ws::frame::text("abc", false));
  ws.send(cr::ws::frame::text("def"), true);
  EXPECT_EQ(ws.receive_text(), "len=6");
  EXPECT_EQ(ws.receive_text(), "up=a");
}

TEST(stub_ws, server_initiated_close_after_greeting) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(ct::ws_script().send_text("bye soon").close(4001, "go away"));
  auto ws = cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{}).result;
  EXPECT_EQ(ws.receive_text(), "bye soon");
  auto ev = ws.receive();
  ASSERT_TRUE(std::holds_alternative<cr::ws::close_event>(ev));
  EXPECT_EQ(std::get<cr::ws::close_event>(ev).code, 4001);
  EXPECT_EQ(std::get<cr::ws::close_event>(ev).reason, "go away");
  try {
    ws.receive();
    FAIL();
  } catch (const cr::websocket_closed& e) {
    EXPECT_EQ(e.close().code, 4001);
  }
}

TEST(stub_ws, close_after_n_messages_ends_the_message_range) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(ct::ws_script().echo().close_after(2, 1000, "done"));
  auto ws = cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{}).result;
  ws.send_text("1");
  ws.send_text("2");
  std::vector<std::string> got;
  auto range = ws.messages();
  for (auto& m : range)
    got.push_back(m.data);
  EXPECT_EQ(got, (std::vector<std::string>{"1", "2"}));
  ASSERT_TRUE(range.close());
  EXPECT_EQ(range.close()->reason, "done");
}

TEST(stub_ws, a_close_frame_among_replies_closes) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(ct::ws_script().reply([](const cr::ws::message& m) {
    if (m.data == "quit") return ct::ws_replies{cr::ws::frame::close(1000, "as asked")};
    return ct::ws_replies{cr::ws::frame::text("ok")};
  }));
  auto ws = cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{}).result;
  ws.send_text("a");
  EXPECT_EQ(ws.receive_text(), "ok");
  ws.send_text("quit");
  try {
    ws.receive_text();
    FAIL();
  } catch (const cr::websocket_closed& e) {
    EXPECT_EQ(e.close().reason, "as asked");
  }
}

TEST(stub_ws, refused_upgrade_is_websocket_upgrade_failed_with_status_and_body) {
  ct::stub_backend stub;
  stub.when_any().respond(403, "members only", {{"X-Why", "no token"}});
  try {
    cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{});
    FAIL();
  } catch (const cr::websocket_upgrade_failed& e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_EQ(e.body(), "members only");
    EXPECT_EQ(e.headers().get("X-Why"), "no token");
  }
  EXPECT_TRUE(stub.last_recorded().failed());
  EXPECT_EQ(stub.last_recorded().error, cr::errc::websocket_upgrade_failed);
}

TEST(stub_ws, connect_failure_and_unmatched) {
  ct::stub_backend stub;
  stub.when(ct::host_is("down.example")).fail_connect();
  stub.when(ct::host_is("hangup.example")).fail_read();
  EXPECT_THROW(cr::basic_request()
                   .get(cr::uri("ws://down.example/"))
                   .open_websocket(stub, cr::ws::high_level{}),
               cr::connect_error);
  EXPECT_THROW(cr::basic_request()
                   .get(cr::uri("ws://hangup.example/"))
                   .open_websocket(stub, cr::ws::high_level{}),
               cr::read_error);
  EXPECT_THROW(cr::basic_request()
                   .get(cr::uri("ws://nobody.example/"))
                   .open_websocket(stub, cr::ws::high_level{}),
               ct::unmatched_request);
}

TEST(stub_ws, subprotocol_and_headers) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(
      ct::ws_script().subprotocol("chat.v2").header("X-Server", "stub"));
  cr::ws::high_level h;
  h.options.connection.subprotocols = {"chat.v1", "chat.v2"};
  auto r = cr::basic_request().get(chat).open_websocket(stub, h);
  EXPECT_EQ(r.subprotocol, "chat.v2");
  EXPECT_EQ(r.headers.get("X-Server"), "stub");
  EXPECT_EQ(r.result.subprotocol(), "chat.v2");
  // Not offered: the client refuses it, as with a real server.
  EXPECT_THROW(cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{}),
               cr::websocket_upgrade_failed);
}

TEST(stub_ws, request_headers_reach_the_matcher) {
  ct::stub_backend stub;
  stub.when(ct::header_is("Authorization", "Bearer t0k"))
      .respond_websocket(ct::ws_script().send_text("in"));
  stub.when_any().respond(401, "who are you");
  auto ws = cr::basic_request()
                .bearer_auth("t0k")
                .get(chat)
                .open_websocket(stub, cr::ws::high_level{})
                .result;
  EXPECT_EQ(ws.receive_text(), "in");
  EXPECT_THROW(cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{}),
               cr::websocket_upgrade_failed);
}

ct::ws_script burst(int n) {
  ct::ws_script s;
  for (int i = 0; i < n; ++i)
    s.send_text("m" + std::to_string(i));
  return s;
}

TEST(stub_ws, buffer_backpressure_loses_nothing) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(burst(50));
  cr::ws::high_level h;
  h.options.capacity = 4;
  h.options.on_full = cr::ws::on_full::backpressure;
  auto ws = cr::basic_request().get(chat).open_websocket(stub, h).result;
  std::this_thread::sleep_for(50ms);  // let the server's burst pile up
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(ws.receive_text(), "m" + std::to_string(i));
}

TEST(stub_ws, buffer_fail_closes_with_buffer_full) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(burst(50));
  cr::ws::high_level h;
  h.options.capacity = 4;
  h.options.on_full = cr::ws::on_full::fail;
  auto ws = cr::basic_request().get(chat).open_websocket(stub, h).result;
  std::this_thread::sleep_for(50ms);
  bool failed = false;
  for (int i = 0; i < 60 && !failed; ++i) {
    try {
      ws.receive();
    } catch (const cr::websocket_buffer_full&) {
      failed = true;
    }
  }
  EXPECT_TRUE(failed);
  EXPECT_FALSE(ws.is_open());
}

TEST(stub_ws, buffer_unbounded_keeps_everything) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(burst(200));
  cr::ws::high_level h;
  h.options.capacity = std::nullopt;
  auto ws = cr::basic_request().get(chat).open_websocket(stub, h).result;
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(ws.receive_text(), "m" + std::to_string(i));
}

class collecting_listener : public cr::ws::listener {
 public:
  void on_open(cr::ws::sender& out) override { out.send_text("from on_open"); }
  void on_frame(const cr::ws::frame& f) override {
    std::lock_guard lock(mutex);
    frames.push_back(f.payload);
    changed.notify_all();
  }
  void on_close(const cr::ws::close_event& e) override {
    std::lock_guard lock(mutex);
    close = e;
    changed.notify_all();
  }
  bool wait(std::function<bool()> pred) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, pred);
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> frames;
  std::optional<cr::ws::close_event> close;
};

TEST(stub_ws, listener_handler_works_unchanged) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(
      ct::ws_script().send_text("hi").echo().close_after(2, 1000, "enough"));
  auto l = std::make_shared<collecting_listener>();
  cr::ws::low_level handler;
  handler.listener = l;
  auto r = cr::basic_request().get(chat).open_websocket(stub, handler);
  r.result.send_text("second");
  ASSERT_TRUE(l->wait([&] { return l->close.has_value(); }));
  EXPECT_EQ(l->frames, (std::vector<std::string>{"hi", "from on_open", "second"}));
  EXPECT_EQ(l->close->reason, "enough");
}

TEST(stub_ws, async_open_with_future_and_coroutine) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(ct::ws_script().echo());
  auto f = cr::basic_request().get(chat).async_open_websocket(stub, cr::ws::high_level{},
                                                              net::use_future);
  auto ws = f.get().result;
  ws.send_text("sync after async open");
  EXPECT_EQ(ws.receive_text(), "sync after async open");

  net::io_context ioc;
  std::string got;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        auto r = co_await cr::basic_request().get(chat).async_open_websocket(
            stub, cr::ws::high_level{}, net::use_awaitable);
        co_await r.result.async_send_text("co", net::use_awaitable);
        got = co_await r.result.async_receive_text(net::use_awaitable);
        co_await r.result.async_close(1000, "", net::use_awaitable);
      },
      net::detached);
  ioc.run();
  EXPECT_EQ(got, "co");
}

TEST(stub_ws, async_open_reports_refusal_with_the_upgrade_response) {
  ct::stub_backend stub;
  stub.when_any().respond(404, "gone");
  std::promise<std::exception_ptr> p;
  cr::basic_request().get(chat).async_open_websocket(
      stub, cr::ws::high_level{},
      [&](std::exception_ptr e, cr::websocket_response<cr::ws::websocket>) { p.set_value(e); });
  auto e = p.get_future().get();
  EXPECT_EQ(cr::error_code_of(e), cr::errc::websocket_upgrade_failed);
  try {
    std::rethrow_exception(e);
  } catch (const cr::websocket_upgrade_failed& refused) {
    EXPECT_EQ(refused.status(), 404);
    EXPECT_EQ(refused.body(), "gone");
  }
  std::promise<std::exception_ptr> q;
  stub.clear_rules();
  cr::basic_request().get(chat).async_open_websocket(
      stub, cr::ws::high_level{},
      [&](std::exception_ptr e, cr::websocket_response<cr::ws::websocket>) { q.set_value(e); });
  EXPECT_EQ(cr::error_code_of(q.get_future().get()), cr::errc::invalid_request);
}

TEST(stub_ws, pipe_runs_until_the_server_closes) {
  ct::stub_backend stub;
  stub.when_any().respond_websocket(
      ct::ws_script().send_text("2").send_text("3").reply([](const cr::ws::message& m) {
        int n = std::stoi(m.data);
        // Closes only after the last reply the client will send (a close racing the
        // client's next send would make that send fail, as it should).
        if (n == 300) return ct::ws_replies{cr::ws::frame::close(1000, std::to_string(n))};
        return ct::ws_replies{};
      }));
  auto ws = cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{}).result;
  auto close = cr::ws::pipe(ws, [](cr::ws::message m) -> std::optional<cr::ws::message> {
    return cr::ws::message::text(std::to_string(std::stoi(m.data) * 100));
  });
  EXPECT_EQ(close.reason, "300");
}

TEST(stub_ws, websocket_outliving_the_stub_fails_instead_of_hanging) {
  cr::ws::websocket ws;
  {
    ct::stub_backend stub;
    stub.when_any().respond_websocket(ct::ws_script());
    ws = cr::basic_request().get(chat).open_websocket(stub, cr::ws::high_level{}).result;
  }
  EXPECT_THROW(ws.receive(), cr::error);
}

TEST(stub_ws, delayed_upgrade_and_read_timeout) {
  ct::stub_backend stub;
  stub.when(ct::path_is("/slow")).respond_websocket(ct::ws_script().send_text("late")).delay(100ms);
  stub.when(ct::path_is("/stuck")).respond_websocket(ct::ws_script()).delay(5s);
  auto start = std::chrono::steady_clock::now();
  auto ws = cr::basic_request()
                .get(cr::uri("ws://s.example/slow"))
                .open_websocket(stub, cr::ws::high_level{})
                .result;
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  EXPECT_EQ(ws.receive_text(), "late");
  start = std::chrono::steady_clock::now();
  EXPECT_THROW(cr::basic_request()
                   .read_timeout(100ms)
                   .get(cr::uri("ws://s.example/stuck"))
                   .open_websocket(stub, cr::ws::high_level{}),
               cr::timeout_error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

}  // namespace
