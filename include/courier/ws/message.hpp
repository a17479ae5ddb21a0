// A whole WebSocket message (fragments joined) and what receive() hands out.
#pragma once

#include <courier/ws/frame.hpp>

#include <string>
#include <variant>

namespace courier::ws {

/// A complete text or binary message.
struct message {
  opcode type = opcode::text;  ///< text or binary
  std::string data;            ///< UTF-8 for text (validated), bytes for binary

  bool is_text() const noexcept { return type == opcode::text; }
  bool is_binary() const noexcept { return type == opcode::binary; }
  static message text(std::string s) { return {opcode::text, std::move(s)}; }
  static message binary(std::string bytes) { return {opcode::binary, std::move(bytes)}; }
  friend bool operator==(const message&, const message&) = default;
};

/// What receive() returns: the close event (once), or the next incoming frame. Data frames
/// carry op = text/binary for a message's first frame and continuation for the rest, with fin
/// on the last; pings and pongs appear only when the handler surfaces them.
using incoming = std::variant<close_event, frame>;

}  // namespace courier::ws
