// The client side of the WebSocket opening handshake (RFC 6455 4.1, 4.2.2): the headers of the
// GET upgrade request and the checks on the server's 101 response.
#pragma once

#include "proto/ws/deflate.hpp"

#include <courier/expected.hpp>
#include <courier/headers.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace courier::proto::ws {

/// A fresh Sec-WebSocket-Key: 16 random bytes, base64 (24 characters).
std::string make_client_key();

/// The Sec-WebSocket-Accept a server must answer `client_key` with:
/// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
std::string accept_value(std::string_view client_key);

/// What the client offers in its upgrade request.
struct handshake_offer {
  /// Sent in Sec-WebSocket-Protocol, most preferred first.
  std::vector<std::string> subprotocols;
  /// Sent in Sec-WebSocket-Extensions when set.
  std::optional<deflate_offer> deflate;
};

/// The header fields to add to the GET request: Upgrade, Connection, Sec-WebSocket-Key,
/// Sec-WebSocket-Version and, when offered, Sec-WebSocket-Protocol and
/// Sec-WebSocket-Extensions. Throws courier::invalid_request for an empty, duplicated or
/// non-token subprotocol or an out-of-range deflate window size.
courier::headers upgrade_request_headers(std::string_view client_key, const handshake_offer& offer);

/// What the server agreed to.
struct handshake_accepted {
  /// The subprotocol the server chose, if any (always one the client offered).
  std::optional<std::string> subprotocol;
  /// permessage-deflate parameters when the server accepted compression.
  std::optional<deflate_params> deflate;

  friend bool operator==(const handshake_accepted&, const handshake_accepted&) = default;
};

/// Either what was agreed, or why the response does not complete the handshake.
using handshake_result = courier::expected<handshake_accepted, std::string>;

/// Checks the server's answer to the upgrade request: status 101, `Upgrade: websocket`,
/// a `Connection` list holding "upgrade", the right Sec-WebSocket-Accept, a subprotocol the
/// client offered (or none), and only extensions the client offered with valid parameters.
handshake_result validate_upgrade_response(int status, const courier::headers& response_headers,
                                           std::string_view client_key,
                                           const handshake_offer& offer);

}  // namespace courier::proto::ws
