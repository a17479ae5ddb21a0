#include <courier/headers.hpp>
#include <courier/response_as.hpp>

#include <algorithm>
#include <cctype>

namespace courier::detail {
namespace {

// The charset parameter of a Content-Type value, lower-cased; empty when absent.
std::string charset_of(std::string_view content_type) {
  std::string lower(content_type);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto pos = lower.find("charset=");
  if (pos == std::string::npos) return {};
  std::string_view v = std::string_view(lower).substr(pos + 8);
  if (!v.empty() && v.front() == '"') v.remove_prefix(1);
  auto end = v.find_first_of("\"; \t");
  return std::string(v.substr(0, end));
}

}  // namespace

std::string decode_text(const response_head& head, std::string&& bytes) {
  auto ct = head.headers.get("Content-Type");
  if (!ct) return std::move(bytes);
  std::string cs = charset_of(*ct);
  if (cs == "iso-8859-1" || cs == "latin1" || cs == "latin-1" || cs == "l1" || cs == "iso_8859-1") {
    // Each Latin-1 byte is the code point of the same value: at most two UTF-8 bytes.
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
  // UTF-8, US-ASCII (a subset) and charsets courier does not convert are returned unchanged.
  return std::move(bytes);
}

}  // namespace courier::detail
