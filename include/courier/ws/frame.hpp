// WebSocket frames and close codes (RFC 6455): the values users send and receive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace courier::ws {

/// The frame opcodes RFC 6455 defines (5.2). Other values are reserved and fail the connection.
enum class opcode : std::uint8_t {
  /// A later fragment of a text or binary message.
  continuation = 0,
  /// A text message (or its first fragment): UTF-8.
  text = 1,
  /// A binary message (or its first fragment).
  binary = 2,
  /// A close frame: an optional code and reason.
  close = 8,
  /// A ping; the peer answers with a pong.
  ping = 9,
  /// A pong: the answer to a ping, or a heartbeat.
  pong = 10,
};

/// Close status codes (RFC 6455 7.4.1).
namespace close_code {
/// The purpose of the connection is fulfilled.
inline constexpr std::uint16_t normal = 1000;
/// The endpoint is going away (server shutdown, page left).
inline constexpr std::uint16_t going_away = 1001;
/// The peer broke the protocol.
inline constexpr std::uint16_t protocol_error = 1002;
/// A kind of data the endpoint cannot accept (text or binary).
inline constexpr std::uint16_t unsupported_data = 1003;
/// Never on the wire: the close frame carried no code.
inline constexpr std::uint16_t no_status = 1005;
/// Never on the wire: the connection ended without a close frame.
inline constexpr std::uint16_t abnormal = 1006;
/// A message's data did not fit its type (text that is not UTF-8).
inline constexpr std::uint16_t invalid_payload = 1007;
/// A message broke the endpoint's policy.
inline constexpr std::uint16_t policy_violation = 1008;
/// A message was too big to process.
inline constexpr std::uint16_t message_too_big = 1009;
/// The server did not agree to an extension the client needs.
inline constexpr std::uint16_t mandatory_extension = 1010;
/// The server hit an unexpected condition.
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

/// True for codes an endpoint may put in a close frame: 1000-1003, 1007-1014 (IANA registered
/// 1012-1014 later) and 3000-4999 (libraries and applications). 1004, 1005, 1006, 1015 and the
/// unassigned ranges are not.
constexpr bool is_valid_close_code(std::uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  return code != 1004 && code != 1005 && code != 1006;
}

/// One WebSocket frame. `payload` holds the bytes for every opcode; for close frames that is the
/// 2-byte big-endian code followed by the UTF-8 reason (or nothing).
struct frame {
  /// The opcode.
  opcode op = opcode::text;
  /// True on the last frame of a message.
  bool fin = true;
  ///@{
  /// Extension bits; rsv1 marks a compressed message (permessage-deflate).
  bool rsv1 = false, rsv2 = false, rsv3 = false;
  ///@}
  /// The payload, unmasked.
  std::string payload;

  /// A text frame (the payload should be UTF-8).
  static frame text(std::string s, bool fin = true) {
    return frame{opcode::text, fin, false, false, false, std::move(s)};
  }
  /// A binary frame.
  static frame binary(std::span<const std::byte> bytes, bool fin = true) {
    return frame{
        opcode::binary, fin,
        false,          false,
        false,          std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())};
  }
  /// A binary frame.
  static frame binary(std::string bytes, bool fin = true) {
    return frame{opcode::binary, fin, false, false, false, std::move(bytes)};
  }
  /// A ping; the payload is at most 125 bytes.
  static frame ping(std::string payload = {}) {
    return frame{opcode::ping, true, false, false, false, std::move(payload)};
  }
  /// A pong; the payload is at most 125 bytes.
  static frame pong(std::string payload = {}) {
    return frame{opcode::pong, true, false, false, false, std::move(payload)};
  }
  /// A close frame carrying `code` and `reason`. close_code::no_status makes a close frame
  /// with an empty payload (the reason is then dropped: a reason needs a code).
  static frame close(std::uint16_t code = close_code::normal, std::string_view reason = {}) {
    frame f{opcode::close, true, false, false, false, {}};
    if (code == close_code::no_status) return f;
    f.payload.reserve(2 + reason.size());
    f.payload.push_back(static_cast<char>(code >> 8));
    f.payload.push_back(static_cast<char>(code & 0xff));
    f.payload.append(reason);
    return f;
  }

  /// close, ping and pong (opcodes 8-15).
  bool is_control() const noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }
  /// continuation, text and binary.
  bool is_data() const noexcept { return !is_control(); }

  /// The payload as bytes.
  std::span<const std::byte> bytes() const noexcept {
    return {reinterpret_cast<const std::byte*>(payload.data()), payload.size()};
  }

  /// For a close frame with at least 2 payload bytes: the code in them. Otherwise nullopt.
  std::optional<std::uint16_t> close_code_value() const noexcept {
    if (op != opcode::close || payload.size() < 2) return std::nullopt;
    return static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                      static_cast<unsigned char>(payload[1]));
  }
  /// For a close frame: the reason after the code (empty when there is none).
  std::string_view close_reason() const noexcept {
    if (op != opcode::close || payload.size() <= 2) return {};
    return std::string_view(payload).substr(2);
  }

  /// Equal when every field is equal.
  friend bool operator==(const frame&, const frame&) = default;
};

/// What the peer's close frame said. `code` is close_code::no_status when the frame had no code
/// and close_code::abnormal when the connection ended without a close frame (the reason then
/// describes what happened instead).
struct close_event {
  /// The close code (close_code), or close_code::no_status when the frame had none.
  std::uint16_t code = close_code::no_status;
  /// The UTF-8 reason, possibly empty.
  std::string reason{};

  /// Equal when code and reason are equal.
  friend bool operator==(const close_event&, const close_event&) = default;
};

}  // namespace courier::ws
