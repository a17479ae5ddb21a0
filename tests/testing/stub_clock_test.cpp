// stub_backend on a virtual clock: long delays and timeouts pass in virtual time, so each test
// below covers tens of seconds of it in well under a second of real time.

#include <courier/courier.hpp>
#include <courier/testing/stub_backend.hpp>

#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <thread>

namespace cr = courier;
namespace ct = courier::testing;
namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

const cr::uri api("https://api.example/jobs");

using real_clock = std::chrono::steady_clock;

TEST(stub_clock, a_thirty_second_delay_passes_at_once_on_an_automatic_clock) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  stub.when_any().respond(200, "late").delay(30s);
  auto start = real_clock::now();
  auto r = cr::basic_request().read_timeout(60s).get(api).send(stub);
  EXPECT_LT(real_clock::now() - start, 1s);
  EXPECT_EQ(*r.body(), "late");
  EXPECT_EQ(clock.now(), 30s);
  EXPECT_EQ(stub.last_recorded().duration, 30s);
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(stub_clock, a_read_timeout_fires_at_its_virtual_time) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  stub.when_any().respond(200, "too late").delay(120s);
  auto start = real_clock::now();
  try {
    cr::basic_request().read_timeout(30s).get(api).send(stub);
    ADD_FAILURE() << "no timeout";
  } catch (const cr::timeout_error& e) {
    EXPECT_NE(std::string(e.what()).find("30000 ms"), std::string::npos) << e.what();
  }
  EXPECT_LT(real_clock::now() - start, 1s);
  EXPECT_EQ(clock.now(), 30s);
}

// What user code under test might look like: retries after a back-off it sleeps through.
template <class Backend>
int fetch_with_retry(Backend& backend,
                     const std::function<void(std::chrono::milliseconds)>& sleep) {
  int status = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    status = cr::basic_request().get(api).send(backend).status();
    if (status != 503) break;
    sleep(30s);
  }
  return status;
}

TEST(stub_clock, an_answer_without_delay_does_not_move_time_past_other_waits) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  stub.when(ct::path_is("/later")).respond(200, "later").delay(30s);
  stub.when_any().respond(200, "now");
  auto later =
      cr::basic_request().get(cr::uri("https://x.example/later")).async_send(stub, net::use_future);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(*cr::basic_request().get(api).send(stub).body(), "now");
  }
  EXPECT_EQ(clock.now(), 0s);
  EXPECT_EQ(later.wait_for(10ms), std::future_status::timeout);
  clock.advance(30s);
  ASSERT_EQ(later.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(*later.get().body(), "later");
}

TEST(stub_clock, a_retry_that_waits_thirty_seconds_is_tested_in_milliseconds) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  stub.when_any().respond_sequence({{503, "busy"}, {503, "busy"}, {200, "done"}});
  auto start = real_clock::now();
  int status = fetch_with_retry(stub, [&](auto d) { clock.sleep_for(d); });
  EXPECT_LT(real_clock::now() - start, 1s);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(clock.now(), 60s);
  EXPECT_EQ(stub.recorded_count(), 3u);
}

TEST(stub_clock, advance_delivers_what_falls_due_in_order_and_nothing_later) {
  ct::virtual_clock clock(ct::virtual_clock::mode::manual);
  ct::stub_backend stub(clock);
  stub.when(ct::path_is("/a")).respond(200, "a").delay(10s);
  stub.when(ct::path_is("/b")).respond(200, "b").delay(20s);
  auto a =
      cr::basic_request().get(cr::uri("https://x.example/a")).async_send(stub, net::use_future);
  auto b =
      cr::basic_request().get(cr::uri("https://x.example/b")).async_send(stub, net::use_future);
  EXPECT_EQ(clock.pending(), 2u);
  clock.advance(9s);
  EXPECT_EQ(a.wait_for(50ms), std::future_status::timeout);
  clock.advance(6s);  // 15 s: /a is due, /b is not
  ASSERT_EQ(a.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(*a.get().body(), "a");
  EXPECT_EQ(b.wait_for(50ms), std::future_status::timeout);
  EXPECT_TRUE(clock.advance_to_next());
  EXPECT_EQ(clock.now(), 20s);
  ASSERT_EQ(b.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(*b.get().body(), "b");
  EXPECT_FALSE(clock.advance_to_next());
  EXPECT_EQ(clock.now(), 20s);
}

TEST(stub_clock, a_sync_send_on_a_manual_clock_waits_for_another_thread_to_advance) {
  ct::virtual_clock clock(ct::virtual_clock::mode::manual);
  ct::stub_backend stub(clock);
  stub.when_any().respond(200, "ok").delay(30s);
  std::thread mover([&] {
    for (int i = 0; i < 400 && clock.pending() == 0; ++i)
      std::this_thread::sleep_for(5ms);
    clock.advance(29s);
    std::this_thread::sleep_for(50ms);  // the send must still be waiting here
    clock.advance(1s);
  });
  auto start = real_clock::now();
  auto r = cr::basic_request().read_timeout(60s).get(api).send(stub);
  mover.join();
  EXPECT_EQ(*r.body(), "ok");
  EXPECT_GE(real_clock::now() - start, 50ms);
  EXPECT_LT(real_clock::now() - start, 2s);
  EXPECT_EQ(clock.now(), 30s);
}

TEST(stub_clock, a_redirect_after_a_delay_waits_its_own_delay_from_then) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  stub.when(ct::path_is("/old")).respond(301, "", {{"Location", "/new"}}).delay(10s);
  stub.when(ct::path_is("/new")).respond(200, "moved").delay(5s);
  auto r = cr::basic_request().get(cr::uri("https://x.example/old")).send(stub);
  EXPECT_EQ(*r.body(), "moved");
  EXPECT_EQ(clock.now(), 15s);
}

TEST(stub_clock, destroying_the_stub_aborts_a_wait_the_clock_has_not_reached) {
  ct::virtual_clock clock(ct::virtual_clock::mode::manual);
  std::future<cr::response<cr::expected<std::string, std::string>>> pending;
  {
    ct::stub_backend stub(clock);
    stub.when_any().respond(200, "never").delay(30s);
    pending = cr::basic_request().get(api).async_send(stub, net::use_future);
  }
  ASSERT_EQ(pending.wait_for(1s), std::future_status::ready);
  EXPECT_THROW(pending.get(), cr::operation_aborted);
  EXPECT_EQ(clock.pending(), 0u);  // the stub took its waits off the clock
  clock.advance(60s);              // and nothing of it runs any more
}

TEST(stub_clock, a_wait_of_the_longest_duration_is_never_due) {
  ct::virtual_clock clock(ct::virtual_clock::mode::manual);
  ct::stub_backend stub(clock);
  stub.when_any().respond(200, "never").delay(std::chrono::milliseconds::max());
  auto pending = cr::basic_request()
                     .read_timeout(std::chrono::milliseconds::max())
                     .get(api)
                     .async_send(stub, net::use_future);
  clock.advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(pending.wait_for(50ms), std::future_status::timeout);
  clock.advance(std::chrono::milliseconds::max());  // saturates instead of overflowing
  EXPECT_EQ(clock.now(), std::chrono::milliseconds::max());
}

TEST(stub_clock, sleep_for_on_a_manual_clock_returns_when_time_reaches_it) {
  ct::virtual_clock clock(ct::virtual_clock::mode::manual);
  auto slept = std::async(std::launch::async, [&] { clock.sleep_for(30s); });
  for (int i = 0; i < 400 && clock.pending() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  clock.advance(20s);
  EXPECT_EQ(slept.wait_for(50ms), std::future_status::timeout);
  clock.advance(10s);
  EXPECT_EQ(slept.wait_for(1s), std::future_status::ready);
}

// --- WebSockets ------------------------------------------------------------------------------

TEST(stub_clock, a_websocket_upgrade_answered_after_thirty_seconds_opens_at_once) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  ct::ws_script script;
  script.send_text("welcome").echo();
  stub.when_any().respond_websocket(script).delay(30s);
  auto start = real_clock::now();
  auto ws = cr::basic_request()
                .read_timeout(60s)
                .get(cr::uri("wss://chat.example/room"))
                .open_websocket(stub, cr::ws::high_level{})
                .result;
  EXPECT_EQ(ws.receive_text(), "welcome");
  ws.send_text("hi");
  EXPECT_EQ(ws.receive_text(), "hi");
  EXPECT_LT(real_clock::now() - start, 1s);
  EXPECT_EQ(clock.now(), 30s);
  EXPECT_EQ(stub.last_recorded().duration, 30s);
}

TEST(stub_clock, a_websocket_upgrade_slower_than_the_read_timeout_times_out_in_virtual_time) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  stub.when_any().respond_websocket(ct::ws_script().echo()).delay(120s);
  auto start = real_clock::now();
  EXPECT_THROW(cr::basic_request()
                   .read_timeout(30s)
                   .get(cr::uri("wss://chat.example/room"))
                   .open_websocket(stub, cr::ws::high_level{}),
               cr::timeout_error);
  EXPECT_LT(real_clock::now() - start, 1s);
  EXPECT_EQ(clock.now(), 30s);
}

TEST(stub_clock, an_async_websocket_open_waits_for_the_clock) {
  ct::virtual_clock clock(ct::virtual_clock::mode::manual);
  ct::stub_backend stub(clock);
  stub.when_any().respond(403, "members only").delay(10s);
  auto opening = cr::basic_request()
                     .get(cr::uri("wss://chat.example/private"))
                     .async_open_websocket(stub, cr::ws::high_level{}, net::use_future);
  for (int i = 0; i < 400 && clock.pending() == 0; ++i)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(opening.wait_for(50ms), std::future_status::timeout);
  clock.advance(10s);
  ASSERT_EQ(opening.wait_for(2s), std::future_status::ready);
  try {
    opening.get();
    ADD_FAILURE() << "the upgrade was not refused";
  } catch (const cr::websocket_upgrade_failed& e) {
    EXPECT_EQ(e.status(), 403);
  }
}

// --- An open WebSocket's own timers ----------------------------------------------------------

// Waits (in real time, bounded) until the clock has at least `n` waits scheduled.
bool wait_for_pending(const ct::virtual_clock& clock, std::size_t n) {
  for (int i = 0; i < 400 && clock.pending() < n; ++i)
    std::this_thread::sleep_for(5ms);
  return clock.pending() >= n;
}

cr::ws::websocket open_on(ct::stub_backend& stub, const cr::ws::high_level& handler) {
  return cr::basic_request()
      .get(cr::uri("wss://chat.example/room"))
      .open_websocket(stub, handler)
      .result;
}

// The pong a responsive server sent back for a keep-alive ping (received with surface_pings).
void expect_keep_alive_pong(cr::ws::websocket& ws) {
  auto got = ws.receive(2s);  // a real-time bound: the pong is already on its way
  auto* f = std::get_if<cr::ws::frame>(&got);
  ASSERT_NE(f, nullptr) << "the connection closed instead";
  EXPECT_EQ(f->op, cr::ws::opcode::pong);
  EXPECT_EQ(f->payload, "courier keep-alive");
}

TEST(stub_clock, keep_alive_pings_go_out_at_their_virtual_times) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  stub.when_any().respond_websocket(ct::ws_script().echo());
  cr::ws::high_level handler;
  handler.options.connection.ping_interval = 30s;
  handler.options.surface_pings = true;  // the server's pongs show that a ping went out
  auto ws = open_on(stub, handler);
  auto start = real_clock::now();
  ASSERT_TRUE(wait_for_pending(clock, 1));
  clock.advance(29s);
  EXPECT_THROW(ws.receive(50ms), cr::timeout_error);  // no ping yet
  clock.advance(1s);
  expect_keep_alive_pong(ws);
  ASSERT_TRUE(wait_for_pending(clock, 1));
  clock.advance(30s);
  expect_keep_alive_pong(ws);
  EXPECT_EQ(clock.now(), 60s);
  EXPECT_LT(real_clock::now() - start, 5s);
  EXPECT_TRUE(ws.is_open());
}

TEST(stub_clock, a_peer_that_stops_answering_pings_is_found_dead_in_virtual_time) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  stub.when_any().respond_websocket(ct::ws_script().unresponsive());
  cr::ws::high_level handler;
  handler.options.connection.ping_interval = 30s;
  handler.options.connection.pong_timeout = 10s;
  auto ws = open_on(stub, handler);
  auto start = real_clock::now();
  ASSERT_TRUE(wait_for_pending(clock, 1));
  clock.advance(30s);  // the ping goes out, and nothing answers
  ASSERT_TRUE(wait_for_pending(clock, 1));
  clock.advance(9s);
  EXPECT_TRUE(ws.is_open());
  clock.advance(1s);
  try {
    ws.receive_text();
    ADD_FAILURE() << "the dead peer was not noticed";
  } catch (const cr::timeout_error& e) {
    EXPECT_NE(std::string(e.what()).find("no pong"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("10000 ms"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(ws.is_open());
  EXPECT_EQ(clock.now(), 40s);
  EXPECT_LT(real_clock::now() - start, 5s);
}

TEST(stub_clock, a_close_the_peer_never_answers_ends_at_the_virtual_close_timeout) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  stub.when_any().respond_websocket(ct::ws_script().unresponsive());
  cr::ws::high_level handler;
  handler.options.connection.close_timeout = 5s;
  auto ws = open_on(stub, handler);
  auto start = real_clock::now();
  auto closing = std::async(std::launch::async, [&] { ws.close(); });
  ASSERT_TRUE(wait_for_pending(clock, 1));
  EXPECT_EQ(closing.wait_for(50ms), std::future_status::timeout);  // waits for the peer
  clock.advance(5s);
  ASSERT_EQ(closing.wait_for(2s), std::future_status::ready);
  closing.get();
  EXPECT_FALSE(ws.is_open());
  EXPECT_LT(real_clock::now() - start, 5s);
}

TEST(stub_clock, an_async_receive_times_out_in_virtual_time_and_takes_nothing) {
  ct::virtual_clock clock;
  ct::stub_backend stub(clock);
  ct::ws_script script;
  stub.when_any().respond_websocket(script.echo());
  cr::ws::high_level handler;
  handler.options.receive_timeout = 30s;
  auto ws = open_on(stub, handler);
  auto waiting = ws.async_receive_text(net::use_future);
  ASSERT_TRUE(wait_for_pending(clock, 1));
  EXPECT_EQ(waiting.wait_for(50ms), std::future_status::timeout);
  clock.advance(30s);
  ASSERT_EQ(waiting.wait_for(2s), std::future_status::ready);
  EXPECT_THROW(waiting.get(), cr::timeout_error);
  // The connection is still usable.
  ws.send_text("still here");
  EXPECT_EQ(ws.receive_text(), "still here");
}

}  // namespace
