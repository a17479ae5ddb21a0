#include "proto/socks5/messages.hpp"

#include <courier/error.hpp>

#include <arpa/inet.h>

#include <array>
#include <cstdio>

namespace courier::proto::socks5 {
namespace {

constexpr std::uint8_t auth_version = 1;  // RFC 1929's sub-negotiation version
constexpr std::uint8_t cmd_connect = 1;
constexpr std::uint8_t atyp_ipv4 = 1;
constexpr std::uint8_t atyp_domain = 3;
constexpr std::uint8_t atyp_ipv6 = 4;

std::uint8_t byte_at(std::string_view s, std::size_t i) {
  return static_cast<std::uint8_t>(s[i]);
}

std::string hex_byte(std::uint8_t b) {
  char out[8];
  std::snprintf(out, sizeof out, "0x%02X", b);
  return out;
}

void append_port(std::string& out, std::uint16_t port) {
  out += static_cast<char>(port >> 8);
  out += static_cast<char>(port & 0xFF);
}

}  // namespace

std::string encode_greeting(bool offer_user_password) {
  std::string out;
  out += static_cast<char>(version);
  if (offer_user_password) {
    out += static_cast<char>(2);
    out += static_cast<char>(method_no_auth);
    out += static_cast<char>(method_user_password);
  } else {
    out += static_cast<char>(1);
    out += static_cast<char>(method_no_auth);
  }
  return out;
}

std::string encode_user_password(std::string_view user, std::string_view password) {
  if (user.empty() || user.size() > 255) {
    throw invalid_request("a SOCKS5 user name must be 1 to 255 bytes long");
  }
  if (password.size() > 255) {
    throw invalid_request("a SOCKS5 password must be at most 255 bytes long");
  }
  std::string out;
  out += static_cast<char>(auth_version);
  out += static_cast<char>(user.size());
  out += user;
  out += static_cast<char>(password.size());
  out += password;
  return out;
}

std::string encode_connect(std::string_view host, std::uint16_t port) {
  std::string out;
  out += static_cast<char>(version);
  out += static_cast<char>(cmd_connect);
  out += '\0';
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::array<unsigned char, 16> addr{};
  if (inet_pton(AF_INET, h.c_str(), addr.data()) == 1) {
    out += static_cast<char>(atyp_ipv4);
    out.append(reinterpret_cast<const char*>(addr.data()), 4);
  } else if (inet_pton(AF_INET6, h.c_str(), addr.data()) == 1) {
    out += static_cast<char>(atyp_ipv6);
    out.append(reinterpret_cast<const char*>(addr.data()), 16);
  } else {
    if (h.empty() || h.size() > 255) {
      throw invalid_request("a host name sent to a SOCKS5 proxy must be 1 to 255 bytes long");
    }
    out += static_cast<char>(atyp_domain);
    out += static_cast<char>(h.size());
    out += h;
  }
  append_port(out, port);
  return out;
}

std::variant<need_more, method_selection> parse_method_selection(std::string_view bytes) {
  if (bytes.size() < 2) return need_more{2};
  if (byte_at(bytes, 0) != version) {
    throw protocol_error("not a SOCKS5 server: its first byte is " + hex_byte(byte_at(bytes, 0)) +
                         ", not 0x05");
  }
  return method_selection{byte_at(bytes, 1)};
}

std::variant<need_more, auth_status> parse_auth_status(std::string_view bytes) {
  if (bytes.size() < 2) return need_more{2};
  if (byte_at(bytes, 0) != auth_version) {
    throw protocol_error("malformed SOCKS5 authentication reply: version " +
                         hex_byte(byte_at(bytes, 0)) + ", not 0x01");
  }
  return auth_status{byte_at(bytes, 1)};
}

std::variant<need_more, reply> parse_reply(std::string_view bytes) {
  if (bytes.size() < 5) return need_more{5};
  if (byte_at(bytes, 0) != version) {
    throw protocol_error("malformed SOCKS5 reply: version " + hex_byte(byte_at(bytes, 0)) +
                         ", not 0x05");
  }
  if (byte_at(bytes, 2) != 0) {
    throw protocol_error("malformed SOCKS5 reply: reserved byte is " + hex_byte(byte_at(bytes, 2)));
  }
  const std::uint8_t atyp = byte_at(bytes, 3);
  std::size_t addr_start = 4, addr_len = 0;
  switch (atyp) {
    case atyp_ipv4:
      addr_len = 4;
      break;
    case atyp_ipv6:
      addr_len = 16;
      break;
    case atyp_domain:
      addr_start = 5;
      addr_len = byte_at(bytes, 4);
      break;
    default:
      throw protocol_error("malformed SOCKS5 reply: unknown address type " + hex_byte(atyp));
  }
  const std::size_t total = addr_start + addr_len + 2;
  if (bytes.size() < total) return need_more{total};
  reply r;
  r.code = byte_at(bytes, 1);
  r.wire_size = total;
  const char* addr = bytes.data() + addr_start;
  if (atyp == atyp_domain) {
    r.bound_host.assign(addr, addr_len);
  } else {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(atyp == atyp_ipv4 ? AF_INET : AF_INET6, addr, text, sizeof text);
    r.bound_host = text;
  }
  r.bound_port =
      static_cast<std::uint16_t>((byte_at(bytes, total - 2) << 8) | byte_at(bytes, total - 1));
  return r;
}

std::string_view reply_message(std::uint8_t code) noexcept {
  switch (code) {
    case 0:
      return "succeeded";
    case 1:
      return "general SOCKS server failure";
    case 2:
      return "connection not allowed by ruleset";
    case 3:
      return "network unreachable";
    case 4:
      return "host unreachable";
    case 5:
      return "connection refused";
    case 6:
      return "TTL expired";
    case 7:
      return "command not supported";
    case 8:
      return "address type not supported";
    default:
      return "unassigned reply code";
  }
}

}  // namespace courier::proto::socks5
