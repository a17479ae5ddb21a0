#include <courier/headers.hpp>
#include <courier/response_as.hpp>
#include "core/hot_path.hpp"

#include <string_view>

namespace courier::detail {
namespace {

char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// The charset parameter of a Content-Type value, as written (quotes removed); empty when
// absent. A view, not a lowered copy: this runs for every text response.
COURIER_HOT std::string_view charset_of(std::string_view content_type) noexcept {
  constexpr std::string_view key = "charset=";
  // Parameters follow a ';': most types ("application/json") have none.
  const std::size_t params = content_type.find(';');
  if (params == std::string_view::npos) return {};
  for (std::size_t at = params + 1; at + key.size() <= content_type.size(); ++at) {
    bool match = true;
    for (std::size_t i = 0; i < key.size() && match; ++i)
      match = ascii_lower(content_type[at + i]) == key[i];
    if (!match) continue;
    std::string_view v = content_type.substr(at + key.size());
    if (!v.empty() && v.front() == '"') v.remove_prefix(1);
    return v.substr(0, v.find_first_of("\"; \t"));
  }
  return {};
}

COURIER_HOT bool is_latin1(std::string_view charset) noexcept {
  if (charset.empty()) return false;
  for (std::string_view name : {"iso-8859-1", "latin1", "latin-1", "l1", "iso_8859-1"}) {
    if (iequals(charset, name)) return true;
  }
  return false;
}

}  // namespace

namespace {
// Each Latin-1 byte is the code point of the same value: at most two UTF-8 bytes.
COURIER_COLD std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}
}  // namespace

COURIER_HOT std::string decode_text(const response_head& head, std::string&& bytes) {
  auto ct = head.headers.get("Content-Type");
  if (ct && is_latin1(charset_of(*ct))) return latin1_to_utf8(bytes);
  // UTF-8, US-ASCII (a subset) and charsets courier does not convert are returned unchanged.
  return std::move(bytes);
}

}  // namespace courier::detail
