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

  /// True for a text message.
  bool is_text() const noexcept { return type == opcode::text; }
  /// True for a binary message.
  bool is_binary() const noexcept { return type == opcode::binary; }
  /// A text message.
  static message text(std::string s) { return {opcode::text, std::move(s)}; }
  /// A binary message.
  static message binary(std::string bytes) { return {opcode::binary, std::move(bytes)}; }
  /// Equal when type and data are equal.
  friend bool operator==(const message&, const message&) = default;
};

/// What receive() returns: the close event (once), or the next incoming frame. Data frames
/// carry op = text/binary for a message's first frame and continuation for the rest, with fin
/// on the last; pings and pongs appear only when the handler surfaces them.
using incoming = std::variant<close_event, frame>;

}  // namespace courier::ws
