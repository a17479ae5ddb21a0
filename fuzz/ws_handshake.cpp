// libFuzzer target: arbitrary 101 response header blocks through validate_upgrade_response,
// and arbitrary Sec-WebSocket-Extensions values through the extension parser. Input: one
// flags byte choosing the offer, then "Name: value" lines.
#include "core/http_grammar.hpp"
#include "proto/ws/extensions.hpp"
#include "proto/ws/handshake.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace ws = courier::proto::ws;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  ws::handshake_offer offer;
  if (flags & 1) offer.subprotocols = {"chat", "superchat"};
  if (flags & 2) {
    ws::deflate_offer d;
    d.client_no_context_takeover = (flags & 4) != 0;
    d.server_no_context_takeover = (flags & 8) != 0;
    if (flags & 16) d.client_max_window_bits = 10;
    if (flags & 32) d.server_max_window_bits = 12;
    d.advertise_client_max_window_bits = (flags & 64) == 0;
    offer.deflate = d;
  }

  courier::headers h;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    // Unchecked: the parser upstream may hand over anything a server sent.
    h.add_unchecked(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }

  const auto result = ws::validate_upgrade_response(101, h, "dGhlIHNhbXBsZSBub25jZQ==", offer);
  if (result.has_value()) {
    // Whatever was accepted must be something we offered.
    if (result->deflate && !offer.deflate) std::abort();
    if (result->subprotocol && offer.subprotocols.empty()) std::abort();
    if (result->deflate) {
      const auto& p = *result->deflate;
      if (p.client_max_window_bits < 8 || p.client_max_window_bits > 15) std::abort();
      if (p.server_max_window_bits < 8 || p.server_max_window_bits > 15) std::abort();
    }
  } else if (result.error().empty()) {
    std::abort();  // a failure always says why
  }

  auto list = ws::parse_extension_list(text);
  if (list.has_value()) {
    for (const auto& e : *list) {
      if (!courier::detail::is_token(e.name)) std::abort();
      for (const auto& p : e.params) {
        if (!courier::detail::is_token(p.name) || (p.value && !courier::detail::is_token(*p.value)))
          std::abort();
      }
    }
  }
  return 0;
}
