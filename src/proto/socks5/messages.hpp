// SOCKS5 (RFC 1928) and its username/password authentication (RFC 1929), sans I/O: the bytes
// a client sends, and parsers for the bytes a server answers. Parsers take the bytes read so
// far and either ask for more (returning how many they need in total), give the message, or
// throw courier::protocol_error for bytes no SOCKS5 server would send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace courier::proto::socks5 {

inline constexpr std::uint8_t version = 5;
inline constexpr std::uint8_t method_no_auth = 0x00;
inline constexpr std::uint8_t method_user_password = 0x02;
inline constexpr std::uint8_t method_none_acceptable = 0xFF;

/// The client greeting: version 5 and the offered methods (no-auth, plus username/password when
/// `offer_user_password`).
std::string encode_greeting(bool offer_user_password);

/// A username/password request (RFC 1929). Throws courier::invalid_request when either is
/// empty-and-not-allowed or longer than 255 bytes. (An empty password is allowed.)
std::string encode_user_password(std::string_view user, std::string_view password);

/// A CONNECT request to a domain name (resolved by the proxy, at most 255 bytes) or, when
/// `host` is an IPv4/IPv6 literal, to that address. Throws courier::invalid_request for a name
/// longer than 255 bytes.
std::string encode_connect(std::string_view host, std::uint16_t port);

/// "Need n bytes in total" (n > what was given).
struct need_more {
  std::size_t total;
};

/// The server's choice of method: 2 bytes.
struct method_selection {
  std::uint8_t method;
};
std::variant<need_more, method_selection> parse_method_selection(std::string_view bytes);

/// The answer to a username/password request: 2 bytes; status 0 is success.
struct auth_status {
  std::uint8_t status;
  bool ok() const noexcept { return status == 0; }
};
std::variant<need_more, auth_status> parse_auth_status(std::string_view bytes);

/// The reply to CONNECT: code 0 is success; the bound address is informational.
struct reply {
  std::uint8_t code = 0;
  std::string bound_host;  ///< dotted IPv4, IPv6 text, or the domain name as sent
  std::uint16_t bound_port = 0;
  std::size_t wire_size = 0;  ///< bytes the reply took; anything after it is tunnel data
  bool ok() const noexcept { return code == 0; }
};
std::variant<need_more, reply> parse_reply(std::string_view bytes);

/// RFC 1928's meaning of a reply code ("connection refused", ...).
std::string_view reply_message(std::uint8_t code) noexcept;

}  // namespace courier::proto::socks5
