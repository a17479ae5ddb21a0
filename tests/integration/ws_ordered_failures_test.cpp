// A WebSocket protocol error does not overtake what came before it. The fault server writes a
// valid message and, in the same write, a frame that breaks RFC 6455: the application still
// receives the message, what it sends in reply leaves before the close frame, and only then
// does a receive report the failure.
#include <courier/courier.hpp>

#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/ws_frames.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

namespace cr = courier;
namespace ws = courier::ws;
namespace ct = courier::test;
using ct::server_frame;
using ct::upgrade_then;
using namespace std::chrono_literals;

namespace {

struct violation {
  const char* name;
  std::string frame;  // written right behind a valid text message
  int close_code;
  const char* reason;  // named by our close frame and by the error
};

void PrintTo(const violation& v, std::ostream* os) {
  *os << v.name;
}

std::vector<violation> all_violations() {
  return {
      {"Rsv2Set", server_frame(1, "rsv", true, 2), 1002,
       "rsv2 or rsv3 set, but no extension using them was negotiated"},
      {"Rsv1WithoutDeflate", server_frame(2, "rsv", true, 4), 1002,
       "rsv1 set, but permessage-deflate was not negotiated"},
      {"ReservedDataOpcode", server_frame(3, "reserved"), 1002, "reserved opcode 3"},
      {"ReservedControlOpcode", server_frame(11, "reserved"), 1002, "reserved opcode 11"},
      {"ContinuationWithoutStart", server_frame(0, "no start"), 1002,
       "continuation frame without a message to continue"},
      {"FragmentedControlFrame", server_frame(9, "ping", false), 1002,
       "fragmented control frame (opcode 9)"},
      {"ControlFrameOver125Bytes", server_frame(9, std::string(126, 'p')), 1002,
       "control frame payload longer than 125 bytes"},
      {"InvalidUtf8InALaterMessage", server_frame(1, "bad \xff\xfe text"), 1007,
       "invalid UTF-8 in a text message"},
  };
}

using frames_promise = std::promise<std::vector<ct::client_frame>>;

// Accepts the upgrade, writes `bytes` in one write, and reports the client's frames up to its
// close frame (or up to the end of the connection, at most 8 frames).
ct::fault_server::script write_and_record(
    std::string bytes, std::shared_ptr<frames_promise> out,
    std::chrono::steady_clock::time_point* close_seen = nullptr) {
  return upgrade_then([bytes = std::move(bytes), out, close_seen](ct::connection& c) {
    c.write(bytes);
    std::vector<ct::client_frame> frames;
    try {
      for (int i = 0; i < 8; ++i) {
        frames.push_back(ct::read_client_frame(c));
        if (frames.back().opcode == 8) {
          if (close_seen) *close_seen = std::chrono::steady_clock::now();
          break;
        }
      }
    } catch (const ct::fault_error&) {
      // The client closed the connection: what came before is the answer.
    }
    out->set_value(std::move(frames));
    c.wait_for_peer_close(3s);
  });
}

ws::websocket open_on(const ct::fault_server& server, ws::buffer_options opts = {}) {
  return cr::basic_request()
      .get(cr::uri(server.url("ws", "/")))
      .open_websocket(ct::test_ca_backend(), ws::high_level{opts})
      .result;
}

std::vector<ct::client_frame> wait_for_frames(std::future<std::vector<ct::client_frame>>& f) {
  if (f.wait_for(5s) != std::future_status::ready) {
    ADD_FAILURE() << "the server did not see the client's close frame within 5 s";
    return {};
  }
  return f.get();
}

std::string describe(const std::vector<ct::client_frame>& frames) {
  std::string s;
  for (const auto& f : frames)
    s += "[opcode " + std::to_string(f.opcode) + " " + f.payload + "]";
  return s;
}

class WebSocketOrderedFailures : public testing::TestWithParam<violation> {};

}  // namespace

TEST_P(WebSocketOrderedFailures, TheMessageBeforeComesFirstAndItsReplyLeavesBeforeTheClose) {
  const violation& v = GetParam();
  auto got = std::make_shared<frames_promise>();
  auto frames = got->get_future();
  ct::fault_server server(write_and_record(server_frame(1, "first") + v.frame, got));
  auto socket = open_on(server);

  EXPECT_EQ(socket.receive_text(), "first");
  EXPECT_TRUE(socket.is_open());  // the application has not seen the failure yet
  socket.send_text("reply to first");
  try {
    socket.receive_text();
    ADD_FAILURE() << "no protocol_error";
  } catch (const cr::protocol_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(v.reason), std::string::npos) << what;
    EXPECT_NE(what.find("closed with " + std::to_string(v.close_code)), std::string::npos) << what;
  }
  EXPECT_EQ(std::get<ws::close_event>(socket.receive()).code, v.close_code);
  EXPECT_FALSE(socket.is_open());

  const auto seen = wait_for_frames(frames);
  ASSERT_EQ(seen.size(), 2u) << describe(seen);
  EXPECT_EQ(seen[0].opcode, 1);
  EXPECT_EQ(seen[0].payload, "reply to first");
  EXPECT_EQ(seen[1].close_code(), v.close_code);
  EXPECT_EQ(seen[1].payload.substr(2), v.reason);
  EXPECT_TRUE(server.script_errors().empty());
}

INSTANTIATE_TEST_SUITE_P(EachKind, WebSocketOrderedFailures, testing::ValuesIn(all_violations()),
                         [](const testing::TestParamInfo<violation>& info) {
                           return std::string(info.param.name);
                         });

TEST(WebSocketOrderedFailure, AsyncReceivesGetEveryMessageBeforeTheError) {
  auto got = std::make_shared<frames_promise>();
  auto frames = got->get_future();
  ct::fault_server server(write_and_record(
      server_frame(1, "one") + server_frame(2, "two") + server_frame(0, "no start"), got));
  auto socket = open_on(server);

  boost::asio::io_context io;
  std::vector<std::string> received;
  boost::system::error_code failure;
  bool ended = false;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
          auto [e, m] = co_await socket.async_receive_message(
              boost::asio::as_tuple(boost::asio::use_awaitable));
          if (e) {
            failure = cr::error_code_of(e);
            break;
          }
          received.push_back(m.data);
          co_await socket.async_send_text("reply to " + m.data, boost::asio::use_awaitable);
        }
        ended = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run_for(10s);
  ASSERT_TRUE(ended);
  EXPECT_EQ(received, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(failure, cr::errc::protocol_error);

  const auto seen = wait_for_frames(frames);
  ASSERT_EQ(seen.size(), 3u) << describe(seen);
  EXPECT_EQ(seen[0].payload, "reply to one");
  EXPECT_EQ(seen[1].payload, "reply to two");
  EXPECT_EQ(seen[2].close_code(), 1002);
}

// With nothing before it, a violation is the answer to the receive that waits: at once, not
// after the close timeout.
TEST(WebSocketOrderedFailure, AViolationAloneFailsAWaitingReceiveAtOnce) {
  for (const bool async : {false, true}) {
    SCOPED_TRACE(async ? "async_receive_text" : "receive_text");
    auto got = std::make_shared<frames_promise>();
    auto frames = got->get_future();
    ct::fault_server server(upgrade_then([got](ct::connection& c) {
      c.pause(200ms);  // the receive is waiting by then
      c.write(server_frame(3, "reserved"));
      std::vector<ct::client_frame> seen;
      try {
        seen.push_back(ct::read_client_frame(c));
      } catch (const ct::fault_error&) {
      }
      got->set_value(std::move(seen));
      c.wait_for_peer_close(3s);
    }));
    auto socket = open_on(server);  // close_timeout: 5 s
    const auto t0 = std::chrono::steady_clock::now();
    if (async) {
      boost::asio::io_context io;
      boost::system::error_code failure;
      boost::asio::co_spawn(
          io,
          [&]() -> boost::asio::awaitable<void> {
            auto [e, text] = co_await socket.async_receive_text(
                boost::asio::as_tuple(boost::asio::use_awaitable));
            failure = cr::error_code_of(e);
          },
          [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
          });
      io.run_for(10s);
      EXPECT_EQ(failure, cr::errc::protocol_error);
    } else {
      EXPECT_THROW(socket.receive_text(), cr::protocol_error);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    const auto seen = wait_for_frames(frames);
    ASSERT_EQ(seen.size(), 1u) << describe(seen);
    EXPECT_EQ(seen[0].close_code(), 1002);
  }
}

TEST(WebSocketOrderedFailure, AnApplicationThatStopsReadingIsClosedWithinTheCloseTimeout) {
  auto got = std::make_shared<frames_promise>();
  auto frames = got->get_future();
  std::chrono::steady_clock::time_point close_seen{};
  ct::fault_server server(
      write_and_record(server_frame(1, "first") + server_frame(3, "reserved"), got, &close_seen));
  ws::buffer_options o;
  o.connection.close_timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto socket = open_on(server, o);

  // Nobody receives: the close frame goes out once the close timeout has passed.
  const auto seen = wait_for_frames(frames);
  ASSERT_EQ(seen.size(), 1u) << describe(seen);
  EXPECT_EQ(seen[0].close_code(), 1002);
  EXPECT_GE(close_seen - t0, 250ms);
  EXPECT_LT(close_seen - t0, 3s);

  // Nothing was lost: the message, then the failure.
  EXPECT_EQ(socket.receive_text(), "first");
  EXPECT_THROW(socket.receive_text(), cr::protocol_error);
  EXPECT_FALSE(socket.is_open());
}

TEST(WebSocketOrderedFailure, CloseWhileAFailureIsHeldSendsTheFailuresCloseAtOnce) {
  auto got = std::make_shared<frames_promise>();
  auto frames = got->get_future();
  ct::fault_server server(
      write_and_record(server_frame(1, "first") + server_frame(9, "ping", false), got));
  auto socket = open_on(server);  // close_timeout: 5 s

  EXPECT_EQ(socket.receive_text(), "first");
  const auto t0 = std::chrono::steady_clock::now();
  socket.close();  // no handshake with a peer that broke the protocol
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_THROW(socket.receive_text(), cr::protocol_error);

  const auto seen = wait_for_frames(frames);
  ASSERT_EQ(seen.size(), 1u) << describe(seen);
  EXPECT_EQ(seen[0].close_code(), 1002);
}

namespace {
// Records the listener's callbacks in order, and answers each frame from inside on_frame.
struct replying_listener : ws::listener {
  std::mutex m;
  std::vector<std::string> calls;
  ws::sender out;
  std::promise<void> closed;
  void on_open(ws::sender& s) override { out = s; }
  void on_frame(const ws::frame& f) override {
    {
      std::lock_guard lock(m);
      calls.push_back("frame " + f.payload);
    }
    out.send_text("reply to " + f.payload);
  }
  void on_error(boost::system::error_code ec, const std::string& message) override {
    std::lock_guard lock(m);
    calls.push_back("error " +
                    std::string(ec == cr::errc::protocol_error ? "protocol_error " : "other ") +
                    message);
  }
  void on_close(const ws::close_event& e) override {
    {
      std::lock_guard lock(m);
      calls.push_back("close " + std::to_string(e.code));
    }
    closed.set_value();
  }
};
}  // namespace

TEST(WebSocketOrderedFailure, ListenersSeeTheFramesBeforeTheError) {
  auto got = std::make_shared<frames_promise>();
  auto frames = got->get_future();
  ct::fault_server server(write_and_record(
      server_frame(1, "one") + server_frame(1, "two") + server_frame(1, "x", true, 2), got));
  auto l = std::make_shared<replying_listener>();
  ws::low_level handler;
  handler.listener = l;
  cr::basic_request()
      .get(cr::uri(server.url("ws", "/")))
      .open_websocket(ct::test_ca_backend(), handler);
  ASSERT_EQ(l->closed.get_future().wait_for(5s), std::future_status::ready);
  {
    std::lock_guard lock(l->m);
    ASSERT_EQ(l->calls.size(), 4u);
    EXPECT_EQ(l->calls[0], "frame one");
    EXPECT_EQ(l->calls[1], "frame two");
    EXPECT_EQ(l->calls[2].rfind("error protocol_error ", 0), 0u) << l->calls[2];
    EXPECT_NE(l->calls[2].find("rsv2 or rsv3 set"), std::string::npos) << l->calls[2];
    EXPECT_EQ(l->calls[3], "close 1002");
  }
  const auto seen = wait_for_frames(frames);
  ASSERT_EQ(seen.size(), 3u) << describe(seen);
  EXPECT_EQ(seen[0].payload, "reply to one");
  EXPECT_EQ(seen[1].payload, "reply to two");
  EXPECT_EQ(seen[2].close_code(), 1002);
}
