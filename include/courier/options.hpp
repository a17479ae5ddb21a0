// Per-request options: redirects, timeouts, size limits, progress rate.
#pragma once

#include <courier/http_version.hpp>
#include <courier/proxy.hpp>

#include <chrono>
#include <cstddef>
#include <optional>

namespace courier {

/// How a request is sent: redirects, timeouts, size limits, decoding, proxies. Set with the
/// request's builder calls or all at once with request::with_options().
struct request_options {
  /// Follow 3xx answers with a Location (up to max_redirects).
  bool follow_redirects = true;
  /// The most redirects followed; one more fails with too_many_redirects.
  int max_redirects = 20;
  /// DNS + TCP + TLS handshake.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  /// The longest wait for any bytes from the server once the request is sent (ends within
  /// a few tens of milliseconds of it; see docs/requests.md).
  std::chrono::milliseconds read_timeout{std::chrono::seconds(60)};
  /// The whole exchange, redirects included; nullopt for no limit.
  std::optional<std::chrono::milliseconds> timeout{};
  /// Decode gzip, deflate, br and zstd bodies (br and zstd when built with them). Off, the
  /// body comes as the server sent it: still compressed when it was, since basic_request()
  /// offers Accept-Encoding either way (remove that header to ask for an unencoded body).
  bool decompress = true;
  /// The largest body kept in memory, after decoding. Beyond it: body_too_large.
  std::size_t max_body_size = std::size_t{256} << 20;
  /// The largest response head (status line and headers).
  std::size_t max_header_size = std::size_t{64} << 10;
  /// The shortest time between two calls of the request's progress callback (on_progress()),
  /// per direction; the final call is always made.
  std::chrono::milliseconds progress_interval{100};

  /// The proxies for this request, instead of the backend's; proxy_settings::direct() for
  /// none. nullopt: the backend's settings.
  std::optional<proxy_settings> proxy{};

  /// The HTTP version to speak (docs/http2.md); nullopt: the backend's default
  /// (asio_backend_options::version).
  std::optional<http_version> version{};

  /// Equal when every option is equal.
  friend bool operator==(const request_options&, const request_options&) = default;
};

}  // namespace courier
