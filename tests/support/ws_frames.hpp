// The server's side of a WebSocket, for fault_server scripts that play it byte by byte: the
// upgrade answer and frames as a server writes them (unmasked).
#pragma once

#include "proto/ws/handshake.hpp"
#include "support/fault_server.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace courier::test {

/// One unmasked frame: FIN as given, the RSV bits `rsv` (0-7), every payload length form.
inline std::string server_frame(int opcode, std::string_view payload, bool fin = true,
                                int rsv = 0) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode);
  const auto size = static_cast<std::uint64_t>(payload.size());
  if (size < 126) {
    f += static_cast<char>(size);
  } else if (size < 65536) {
    f += static_cast<char>(126);
    f += static_cast<char>(size >> 8);
    f += static_cast<char>(size & 0xff);
  } else {
    f += static_cast<char>(127);
    for (int i = 7; i >= 0; --i)
      f += static_cast<char>((size >> (8 * i)) & 0xff);
  }
  f += payload;
  return f;
}

/// Reads one masked client frame whose payload is under 126 bytes; returns its opcode.
inline int read_small_client_frame(connection& c) {
  const std::string head = c.read_exactly(2);
  const std::size_t length = static_cast<unsigned char>(head[1]) & 0x7f;
  c.read_exactly(4 + length);  // mask key and payload
  return static_cast<unsigned char>(head[0]) & 0x0f;
}

/// One frame as the client sent it, unmasked.
struct client_frame {
  int opcode = 0;
  bool fin = true;
  std::string payload;
  /// A close frame's code, or 0 when it has none (or this is no close frame).
  int close_code() const {
    if (opcode != 8 || payload.size() < 2) return 0;
    return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
  }
};

/// Reads one masked client frame (a payload under 64 KiB) and unmasks it.
inline client_frame read_client_frame(connection& c) {
  const std::string head = c.read_exactly(2);
  std::size_t length = static_cast<unsigned char>(head[1]) & 0x7f;
  if (length == 126) {
    const std::string ext = c.read_exactly(2);
    length =
        (std::size_t{static_cast<unsigned char>(ext[0])} << 8) | static_cast<unsigned char>(ext[1]);
  } else if (length == 127) {
    throw fault_error("read_client_frame: a payload of 64 KiB or more");
  }
  const std::string key = c.read_exactly(4);
  client_frame f;
  f.opcode = static_cast<unsigned char>(head[0]) & 0x0f;
  f.fin = (static_cast<unsigned char>(head[0]) & 0x80) != 0;
  f.payload = c.read_exactly(length);
  for (std::size_t i = 0; i < f.payload.size(); ++i)
    f.payload[i] = static_cast<char>(f.payload[i] ^ key[i % 4]);
  return f;
}

/// A script that accepts the upgrade (with `extra_headers`, each ending in CRLF) and then runs
/// `after` on the raw socket.
inline fault_server::script upgrade_then(std::function<void(connection&)> after,
                                         std::string extra_headers = {}) {
  return [after = std::move(after), extra_headers = std::move(extra_headers)](connection& c) {
    std::string head = c.read_request_head();
    auto pos = head.find("Sec-WebSocket-Key: ");
    std::string key = head.substr(pos + 19, head.find("\r\n", pos) - pos - 19);
    c.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        courier::proto::ws::accept_value(key) + "\r\n" + extra_headers + "\r\n");
    after(c);
  };
}

}  // namespace courier::test
