// A blocking client moves large messages on its own thread: a send writes what the socket
// takes at once (a large payload masked as it goes out), and a receive reads payloads straight
// into their messages, a frame header at a time after each one.
#include <courier/courier.hpp>

#include "support/fault_server.hpp"
#include "support/test_backends.hpp"
#include "support/test_env.hpp"
#include "support/ws_frames.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cr = courier;
namespace ws = courier::ws;
namespace ct = courier::test;
using ct::server_frame;

namespace {

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 7919 + seed * 131) >> 3);
  return s;
}

}  // namespace

TEST(WebSocketCallerIo, LargeRoundTripsComeBackIntact) {
  // The peer checks every mask: a byte masked with the wrong key phase comes back wrong.
  auto socket = cr::basic_request()
                    .get(cr::uri(ct::ws_url("/echo")))
                    .open_websocket(ct::test_ca_backend(), ws::high_level{})
                    .result;
  const std::vector<std::size_t> sizes = {(1u << 20) + 3, 70 * 1024, 300 * 1024 + 1, 1u << 20};
  for (int round = 0; round < 12; ++round) {
    const std::string payload = pattern(sizes[round % sizes.size()], round);
    socket.send_binary(std::string(payload));
    const auto m = socket.receive_message();
    ASSERT_EQ(m.type, ws::opcode::binary);
    ASSERT_EQ(m.data.size(), payload.size()) << "round " << round;
    ASSERT_TRUE(m.data == payload) << "round " << round;
  }
  socket.send_text("small after large");
  EXPECT_EQ(socket.receive_text(), "small after large");
}

TEST(WebSocketCallerIo, SmallFramesRightBehindALargeOne) {
  // Frames packed in one write: after a payload read straight into its message, the next read
  // takes a header; what follows it is still parsed from the read buffer.
  const std::string big = pattern(200 * 1024, 1);
  const std::string mid = pattern(100 * 1024 + 7, 2);
  ct::fault_server server(ct::upgrade_then([&](ct::connection& c) {
    c.read_exactly(6 + 2);  // the client's "go" (masked, 2-byte header)
    c.write(server_frame(2, big) + server_frame(1, "a") + server_frame(9, "ping") +
            server_frame(2, mid) + server_frame(1, "b"));
    c.pause(std::chrono::milliseconds(500));
  }));
  auto socket = cr::basic_request()
                    .get(cr::uri("ws://127.0.0.1:" + std::to_string(server.port()) + "/"))
                    .open_websocket(ct::test_ca_backend(), ws::high_level{})
                    .result;
  socket.send_text("go");
  EXPECT_TRUE(socket.receive_message().data == big);
  EXPECT_EQ(socket.receive_text(), "a");
  EXPECT_TRUE(socket.receive_message().data == mid);
  EXPECT_EQ(socket.receive_text(), "b");
}
