// permessage-deflate (RFC 7692): negotiation and the per-message compressor/decompressor.
#pragma once

#include "proto/ws/extensions.hpp"

#include <courier/expected.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct z_stream_s;  // zlib's stream; zlib.h stays in the .cpp

namespace courier::proto::ws {

/// What the client asks for in its Sec-WebSocket-Extensions offer.
struct deflate_offer {
  /// We promise to reset our compressor after each message (saves the server memory).
  bool client_no_context_takeover = false;
  /// Ask the server to reset its compressor after each message (saves us memory).
  bool server_no_context_takeover = false;
  /// The largest window (8..15) our compressor will use. Unset: sent as a bare
  /// `client_max_window_bits` when advertise_client_max_window_bits is true, telling the
  /// server it may pick one for us.
  std::optional<int> client_max_window_bits;
  /// Ask the server to use at most this window (8..15) for its compressor.
  std::optional<int> server_max_window_bits;
  /// Whether the offer includes `client_max_window_bits` even without a value. Our compressor
  /// honours any window, so this is on by default; without it the server may not send
  /// client_max_window_bits back.
  bool advertise_client_max_window_bits = true;

  /// The header value, e.g. "permessage-deflate; client_max_window_bits". Throws
  /// courier::invalid_request if a window size is outside 8..15.
  std::string header_value() const;

  friend bool operator==(const deflate_offer&, const deflate_offer&) = default;
};

/// What was agreed once the server accepted the offer.
struct deflate_params {
  /// Our compressor starts each message with an empty window.
  bool client_no_context_takeover = false;
  /// The server's compressor does; our decompressor can drop its window between messages.
  bool server_no_context_takeover = false;
  /// The window our compressor may use (8 is run as 9: see message_deflater).
  int client_max_window_bits = 15;
  /// The window the server's compressor uses.
  int server_max_window_bits = 15;

  friend bool operator==(const deflate_params&, const deflate_params&) = default;
};

/// The extension name in Sec-WebSocket-Extensions.
inline constexpr std::string_view permessage_deflate_name = "permessage-deflate";

/// Checks the parameters of the server's permessage-deflate response against what we offered
/// (RFC 7692 7.1): unknown or repeated parameters, values where none belong, missing or
/// out-of-range window sizes, a window larger than we allowed, client_max_window_bits when we
/// did not offer it, or our server_* requests left unanswered all fail with a reason.
courier::expected<deflate_params, std::string> negotiate_deflate(
    const deflate_offer& offer, const std::vector<extension_param>& response);

/// Compresses outgoing messages: raw DEFLATE, each frame flushed with Z_SYNC_FLUSH, the final
/// frame's trailing 00 00 ff ff removed (RFC 7692 7.2.1).
class message_deflater {
 public:
  /// zlib cannot make raw DEFLATE with an 8-bit window, so 8 runs as 9. That is still safe for a
  /// peer with a 256-byte window: zlib never emits a distance beyond the window size minus 262,
  /// which for 9 bits is 250.
  message_deflater(int window_bits, bool no_context_takeover, int level = -1);
  message_deflater(message_deflater&&) noexcept;
  message_deflater& operator=(message_deflater&&) noexcept;
  ~message_deflater();

  /// Compresses the payload of one frame of a message and appends it to `out`. With `fin` the
  /// message ends: the flush marker is stripped (an empty result becomes the single byte 00,
  /// RFC 7692 7.2.3.6) and, with no context takeover, the window is dropped.
  void compress(std::string_view in, bool fin, std::string& out);

 private:
  void compress_slice(std::string_view in, std::string& out);

  std::unique_ptr<z_stream_s> stream_;
  bool no_context_takeover_;
};

/// Decompresses incoming messages fed a frame (or part of one) at a time, with a bound on the
/// output so that a small "deflate bomb" cannot make us allocate gigabytes.
class message_inflater {
 public:
  enum class status { ok, too_big, corrupt };

  explicit message_inflater(bool no_context_takeover);
  message_inflater(message_inflater&&) noexcept;
  message_inflater& operator=(message_inflater&&) noexcept;
  ~message_inflater();

  /// Inflates compressed payload bytes, appending to `out` at most `max_output` bytes; returns
  /// too_big when there would be more, corrupt when the data is not valid DEFLATE.
  status inflate(std::string_view in, std::string& out, std::size_t max_output);
  /// Ends the message: feeds the 00 00 ff ff tail that the sender removed (its output counts
  /// against `max_output` too) and drops the window with no context takeover.
  status end_message(std::string& out, std::size_t max_output);
  /// zlib's description of the last `corrupt`.
  const std::string& error_message() const noexcept { return error_; }

 private:
  status inflate_slice(std::string_view in, std::string& out, std::size_t max_output);

  std::unique_ptr<z_stream_s> stream_;
  bool no_context_takeover_;
  std::string error_;
};

}  // namespace courier::proto::ws
