// The limits and windows of an HTTP/2 client connection (docs/http2.md explains each).
#pragma once

#include <cstddef>
#include <cstdint>

namespace courier::proto::http2 {

struct connection_options {
  /// The receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE): at most this many body
  /// bytes of one response are held before the application takes them (consumed()).
  std::uint32_t stream_window = std::uint32_t{8} << 20;
  /// The receive window shared by every stream of the connection. With 16 MiB a 32 MiB
  /// download over loopback is not held up by WINDOW_UPDATE round trips.
  std::uint32_t connection_window = std::uint32_t{16} << 20;
  /// SETTINGS_MAX_FRAME_SIZE: the largest frame the server may send. nghttp2 hands DATA over as
  /// it arrives, so a big frame costs no memory; it lets a server that slices bodies in big
  /// chunks send a download in a few frames instead of thousands of 16 KiB ones (RFC 9113's
  /// default), which is what keeps an HTTP/2 download as fast as an HTTP/1.1 one.
  std::uint32_t max_frame_size = std::uint32_t{256} << 10;
  /// SETTINGS_MAX_HEADER_LIST_SIZE, and the bound enforced on each response's header (and
  /// trailer) block: the names and values plus 32 bytes a field (RFC 9113 6.5.2). A bigger
  /// block resets the stream.
  std::uint32_t max_header_list_size = std::uint32_t{64} << 10;
  /// CONTINUATION frames allowed after one HEADERS frame before the connection is failed.
  std::size_t max_continuations = 8;
  /// PING, SETTINGS, PRIORITY, empty DATA and unknown frames accepted in a row with nothing useful
  /// (a header block or body bytes) between them, and without a request submitted or
  /// forgive_idle_frames() called meanwhile. One more fails the connection with
  /// ENHANCE_YOUR_CALM. The core has no clock: its driver forgives once a second.
  std::size_t max_idle_frames = 1000;
  /// Output stops being produced for one take_output() once this many bytes are ready (whole
  /// frames, so the batch may pass it by one frame; the rest waits for the next call). Bounds
  /// the memory one upload batch uses.
  std::size_t max_output_batch = std::size_t{256} << 10;
};

}  // namespace courier::proto::http2
