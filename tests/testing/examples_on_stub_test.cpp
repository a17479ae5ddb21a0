// The library's examples (examples/*.cpp) re-run against the stub: each test is the example's
// logic, unchanged but for the backend, answering from rules instead of the test servers.
#include <courier/courier.hpp>
#include <courier/testing/stub_backend.hpp>

#include "testing_clients.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>

namespace cr = courier;
namespace ct = courier::testing;
namespace asio = boost::asio;

namespace {

// examples/getting_started.cpp
TEST(examples_on_stub, getting_started) {
  ct::stub_backend backend;
  backend.when(ct::header_is("Accept", "text/plain") && ct::path_is("/small.txt"))
      .respond(200, std::string(100, 'x'));
  auto response = cr::basic_request()
                      .header("Accept", "text/plain")
                      .get(cr::uri("http://127.0.0.1:8080/small.txt"))
                      .send(backend);
  EXPECT_EQ(response.status(), 200);
  ASSERT_TRUE(response.body());
  EXPECT_EQ(response.body()->size(), 100u);
}

// examples/async_future.cpp
TEST(examples_on_stub, async_future) {
  ct::stub_backend backend;
  backend.when(ct::path_starts_with("/anything/")).respond_with([](const cr::request_data& r) {
    return ct::answer{200, std::string(r.uri()->path())};
  });
  const std::string base = "http://127.0.0.1:8080";
  std::vector<std::future<cr::response<cr::expected<std::string, std::string>>>> pending;
  for (int i = 1; i <= 3; ++i) {
    pending.push_back(cr::basic_request()
                          .get(cr::uri(base + "/anything/" + std::to_string(i)))
                          .async_send(backend, asio::use_future));
  }
  int i = 1;
  for (auto& f : pending) {
    auto r = f.get();
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(*r.body(), "/anything/" + std::to_string(i++));
  }
}

// examples/coroutine.cpp
asio::awaitable<void> fetch(ct::stub_backend& backend, std::string base, std::string& out) {
  auto r = co_await cr::basic_request()
               .get(cr::uri(base + "/uuid"))
               .async_send(backend, asio::use_awaitable);
  out = std::to_string(r.status()) + " " + *r.body();
  try {
    co_await cr::basic_request()
        .get(cr::uri("http://127.0.0.1:1/"))
        .async_send(backend, asio::use_awaitable);
  } catch (const cr::error& e) {
    out += e.code() == cr::errc::connect_failed ? " (connect_failed)" : " (other)";
  }
}

TEST(examples_on_stub, coroutine) {
  ct::stub_backend backend;
  backend.when(ct::path_is("/uuid")).respond(200, R"({"uuid": "1234"})");
  backend.when(ct::uri_starts_with("http://127.0.0.1:1/")).fail_connect();
  asio::io_context io;
  std::string out;
  asio::co_spawn(io, fetch(backend, "http://127.0.0.1:8080", out), asio::detached);
  io.run();
  EXPECT_EQ(out, R"(200 {"uuid": "1234"} (connect_failed))");
}

// examples/download_file.cpp
TEST(examples_on_stub, download_file) {
  ct::stub_backend backend;
  std::string payload(1 << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(i * 7);
  backend.when(ct::path_is("/large.bin")).respond(200, payload);
  auto path = std::filesystem::temp_directory_path() / "courier-stub-large.bin";
  auto r = cr::basic_request()
               .get(cr::uri("http://127.0.0.1:8080/large.bin"))
               .response_as(cr::as_file(path))
               .send(backend);
  EXPECT_EQ(r.status(), 200);
  EXPECT_EQ(std::filesystem::file_size(r.body()), payload.size());
  std::filesystem::remove(path);
}

// examples/websocket_echo.cpp
TEST(examples_on_stub, websocket_echo) {
  ct::stub_backend backend;
  backend.when(ct::path_is("/echo")).respond_websocket(ct::ws_script().echo());
  auto response = cr::basic_request()
                      .get(cr::uri("ws://127.0.0.1:8765/echo"))
                      .open_websocket(backend, cr::ws::high_level{});
  cr::ws::websocket ws = response.result;
  ws.send_text("Hello!");
  EXPECT_EQ(ws.receive_text(), "Hello!");
  ws.close();
}

// examples/websocket_echo_coroutine.cpp
asio::awaitable<void> echo_once(ct::stub_backend& backend, std::string url, std::string& got) {
  auto response = co_await cr::basic_request()
                      .get(cr::uri(url))
                      .async_open_websocket(backend, cr::ws::high_level{}, asio::use_awaitable);
  cr::ws::websocket ws = response.result;
  co_await ws.async_send_text("Hello!", asio::use_awaitable);
  got = co_await ws.async_receive_text(asio::use_awaitable);
  co_await ws.async_close(cr::ws::close_code::normal, "", asio::use_awaitable);
}

TEST(examples_on_stub, websocket_echo_coroutine) {
  ct::stub_backend backend;
  backend.when(ct::path_is("/echo")).respond_websocket(ct::ws_script().echo());
  asio::io_context io;
  std::string got;
  asio::co_spawn(io, echo_once(backend, "ws://127.0.0.1:8765/echo", got), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  EXPECT_EQ(got, "Hello!");
}

// A user-style class (examples/testing_clients.hpp) that depends on a backend.
TEST(user_class_on_stub, weather_client) {
  ct::stub_backend stub;
  stub.when(ct::path_is("/forecast/Paris")).respond(200, "Paris:21");
  stub.when(ct::path_is("/forecast/Oslo")).respond(200, "garbage");
  stub.when(ct::path_is("/forecast/Down")).fail_connect();
  stub.when(ct::path_starts_with("/forecast/")).respond(404, "unknown");
  weather::client<ct::stub_backend> c(stub, cr::uri("https://weather.example"));
  auto paris = c.today("Paris");
  ASSERT_TRUE(paris);
  EXPECT_EQ(paris->city, "Paris");
  EXPECT_EQ(paris->celsius, 21);
  EXPECT_FALSE(c.today("Atlantis"));
  EXPECT_THROW(c.today("Oslo"), std::runtime_error);
  EXPECT_THROW(c.today("Down"), cr::connect_error);
  // The city is one path segment, percent-encoded by the client.
  EXPECT_FALSE(c.today("Rio de Janeiro"));
  EXPECT_EQ(stub.last_recorded().request.uri()->path(), "/forecast/Rio%20de%20Janeiro");
}

TEST(user_class_on_stub, chat_client) {
  ct::stub_backend stub;
  ct::ws_script room;
  room.send_text("welcome").reply([](const cr::ws::message& m) {
    if (m.data == "bye") return ct::ws_replies{cr::ws::frame::close(1000, "see you")};
    return ct::ws_replies{cr::ws::frame::text("echo: " + m.data)};
  });
  stub.when(ct::uri_is("wss://chat.example/room")).respond_websocket(room);
  stub.when(ct::uri_is("wss://chat.example/locked")).respond(403, "locked");
  chat::client<ct::stub_backend> c(stub, cr::uri("wss://chat.example/room"));
  EXPECT_EQ(c.talk("ada", {"one", "two"}),
            (std::vector<std::string>{"welcome", "echo: join ada", "echo: one", "echo: two"}));
  EXPECT_EQ(room.received().size(), 4u);
  chat::client<ct::stub_backend> locked(stub, cr::uri("wss://chat.example/locked"));
  try {
    locked.talk("eve", {});
    FAIL();
  } catch (const cr::websocket_upgrade_failed& e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_EQ(e.body(), "locked");
  }
}

}  // namespace
