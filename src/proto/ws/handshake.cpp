#include "proto/ws/handshake.hpp"

#include "core/http_grammar.hpp"

#include "proto/ws/random.hpp"

#include <courier/error.hpp>

#include <openssl/evp.h>

#include <algorithm>

namespace courier::proto::ws {

using courier::detail::trim_ows;
namespace {

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

// Calls f(element) for each trimmed, non-empty element of the comma lists in every field
// named `name`; stops early when f returns true. Returns whether it stopped early.
template <class F>
bool any_list_element(const courier::headers& h, std::string_view name, F f) {
  for (std::string_view value : h.get_all(name)) {
    while (true) {
      const std::size_t comma = value.find(',');
      const std::string_view element = trim_ows(value.substr(0, comma));
      if (!element.empty() && f(element)) return true;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return false;
}

// For error messages: the value as received, cut short and with control bytes escaped.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 80)) {
    if (c < 0x20 || c >= 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 80) out += "...";
  out += '"';
  return out;
}

courier::unexpected<std::string> fail(std::string why) {
  return courier::unexpected<std::string>(std::move(why));
}

}  // namespace

std::string make_client_key() {
  unsigned char nonce[16];
  fill_random(nonce, sizeof nonce);
  return base64(nonce, sizeof nonce);
}

std::string accept_value(std::string_view client_key) {
  std::string input;
  input.reserve(client_key.size() + websocket_guid.size());
  input.append(client_key).append(websocket_guid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_size, EVP_sha1(), nullptr) != 1) {
    throw courier::error(make_error_code(errc::operation_aborted), "OpenSSL SHA-1 failed");
  }
  return base64(digest, digest_size);
}

courier::headers upgrade_request_headers(std::string_view client_key,
                                         const handshake_offer& offer) {
  courier::headers h;
  h.add("Upgrade", "websocket");
  h.add("Connection", "Upgrade");
  h.add("Sec-WebSocket-Key", client_key);
  h.add("Sec-WebSocket-Version", "13");
  if (!offer.subprotocols.empty()) {
    std::string list;
    for (std::size_t i = 0; i < offer.subprotocols.size(); ++i) {
      const std::string& p = offer.subprotocols[i];
      // RFC 6455 4.1: each is a token, and the list has no duplicates.
      if (!courier::detail::is_token(p)) {
        throw courier::invalid_request("WebSocket subprotocol " + quoted(p) +
                                       " is not a token (letters, digits and !#$%&'*+-.^_`|~)");
      }
      if (std::find(offer.subprotocols.begin(), offer.subprotocols.begin() + i, p) !=
          offer.subprotocols.begin() + i) {
        throw courier::invalid_request("WebSocket subprotocol " + quoted(p) + " is offered twice");
      }
      if (i != 0) list += ", ";
      list += p;
    }
    h.add("Sec-WebSocket-Protocol", list);
  }
  if (offer.deflate) h.add("Sec-WebSocket-Extensions", offer.deflate->header_value());
  return h;
}

handshake_result validate_upgrade_response(int status, const courier::headers& response_headers,
                                           std::string_view client_key,
                                           const handshake_offer& offer) {
  const courier::headers& h = response_headers;
  if (status != 101) {
    return fail("the server answered the WebSocket upgrade with status " + std::to_string(status) +
                " instead of 101 Switching Protocols");
  }

  const auto upgrade = h.get("Upgrade");
  if (!upgrade) return fail("the 101 response has no Upgrade header");
  if (!any_list_element(h, "Upgrade",
                        [](std::string_view e) { return courier::iequals(e, "websocket"); })) {
    return fail("the 101 response has Upgrade: " + quoted(*upgrade) + " instead of websocket");
  }

  if (!any_list_element(h, "Connection",
                        [](std::string_view e) { return courier::iequals(e, "upgrade"); })) {
    const auto connection = h.get("Connection");
    return fail(connection ? "the 101 response's Connection header " + quoted(*connection) +
                                 " lacks the upgrade token"
                           : std::string("the 101 response has no Connection header"));
  }

  const auto accepts = h.get_all("Sec-WebSocket-Accept");
  if (accepts.empty()) return fail("the 101 response has no Sec-WebSocket-Accept header");
  if (accepts.size() > 1) return fail("the 101 response has several Sec-WebSocket-Accept headers");
  const std::string expected_accept = accept_value(client_key);
  if (trim_ows(accepts.front()) != expected_accept) {
    return fail("Sec-WebSocket-Accept is " + quoted(accepts.front()) + ", expected " +
                quoted(expected_accept) + " for the key sent");
  }

  handshake_accepted accepted;

  const auto protocols = h.get_all("Sec-WebSocket-Protocol");
  if (!protocols.empty()) {
    if (protocols.size() > 1) {
      return fail("the server sent several Sec-WebSocket-Protocol headers; it must choose one");
    }
    const std::string_view chosen = trim_ows(protocols.front());
    if (chosen.find(',') != std::string_view::npos) {
      return fail("the server chose several subprotocols (" + quoted(chosen) +
                  "); it must choose one");
    }
    if (std::find(offer.subprotocols.begin(), offer.subprotocols.end(), chosen) ==
        offer.subprotocols.end()) {
      return fail("the server chose subprotocol " + quoted(chosen) +
                  (offer.subprotocols.empty() ? std::string(", but the client offered none")
                                              : std::string(", which the client did not offer")));
    }
    accepted.subprotocol = std::string(chosen);
  }

  for (std::string_view value : h.get_all("Sec-WebSocket-Extensions")) {
    auto extensions = parse_extension_list(value);
    if (!extensions) {
      return fail("invalid Sec-WebSocket-Extensions " + quoted(value) + ": " + extensions.error());
    }
    for (const extension& ext : *extensions) {
      if (ext.name != permessage_deflate_name) {
        return fail("the server accepted extension " + quoted(ext.name) +
                    ", which the client did not offer");
      }
      if (!offer.deflate) {
        return fail("the server accepted permessage-deflate, which the client did not offer");
      }
      if (accepted.deflate) return fail("the server accepted permessage-deflate twice");
      auto params = negotiate_deflate(*offer.deflate, ext.params);
      if (!params) return fail("invalid permessage-deflate response: " + params.error());
      accepted.deflate = *params;
    }
  }
  return accepted;
}

}  // namespace courier::proto::ws
