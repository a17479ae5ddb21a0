// Upload and download progress, reported through an optional callback on the request.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

namespace courier {

/// How far one direction of a transfer has got.
struct transfer_progress {
  /// \var direction::upload
  /// The request body, as it is sent.
  /// \var direction::download
  /// The response body, as it arrives.

  /// Which way the bytes go.
  enum class direction { upload, download };
  /// The direction this report is about.
  direction dir = direction::download;
  /// Body bytes sent or received so far (as on the wire: before content decoding).
  std::uint64_t bytes = 0;
  /// The body's size when known in advance (Content-Length), nullopt otherwise.
  std::optional<std::uint64_t> total;
  /// True on the last call for this direction: the body was sent, or received to its end.
  bool done = false;
};

/// Called where the transfer runs (the calling thread of a sync send, a backend I/O thread for an
/// async one, the reading thread for an as_stream() download), at most once per
/// request_options::progress_interval per direction, plus a final call with done = true. Keep it
/// short: the transfer waits for it.
using progress_callback = std::function<void(const transfer_progress&)>;

}  // namespace courier
