// Which HTTP version a request may be sent with, and which one answered.
#pragma once

namespace courier {

/// The HTTP version a request asks for (request::version(), asio_backend_options::version),
/// and the one that answered (response::version()). docs/http2.md explains the negotiation.
enum class http_version {
  /// The server's choice: on https:// ALPN offers h2 and http/1.1 (HTTP/2 when the server
  /// picks h2, remembered per origin); on http:// HTTP/1.1.
  any,
  /// HTTP/1.1 only.
  http1_1,
  /// HTTP/2 over TLS, chosen with ALPN; fails with protocol_error when the server picks
  /// HTTP/1.1. An http:// uri with it fails with invalid_request: cleartext HTTP/2 needs
  /// http2_prior_knowledge.
  http2,
  /// HTTP/2 from the first byte on http:// (h2c, no Upgrade); on https:// the same as http2.
  http2_prior_knowledge,
};

/// "HTTP/1.1", "HTTP/2" (and "any" for http_version::any), for messages and logs.
constexpr const char* to_string(http_version v) noexcept {
  switch (v) {
    case http_version::http1_1:
      return "HTTP/1.1";
    case http_version::http2:
    case http_version::http2_prior_knowledge:
      return "HTTP/2";
    case http_version::any:
      break;
  }
  return "any";
}

}  // namespace courier
