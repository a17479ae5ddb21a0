// libFuzzer target: header validation. Input: "name\0value\0name\0value..." pairs fed to
// headers::add and headers::set. Whatever is accepted must hold no CR, LF or NUL in its value
// and only token characters in its name; what is rejected must be a courier::error.
#include <courier/error.hpp>
#include <courier/headers.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

bool is_token_char(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

void check_field(std::string_view name, std::string_view value) {
  if (name.empty()) std::abort();
  for (unsigned char c : name)
    if (!is_token_char(c)) std::abort();
  for (unsigned char c : value)
    if (c == '\r' || c == '\n' || c == '\0') std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  courier::headers h;
  bool use_set = false;
  for (int pairs = 0; pairs < 64 && !rest.empty(); ++pairs) {
    const std::size_t a = rest.find('\0');
    const std::string_view name = rest.substr(0, a);
    rest = a == std::string_view::npos ? std::string_view() : rest.substr(a + 1);
    const std::size_t b = rest.find('\0');
    const std::string_view value = rest.substr(0, b);
    rest = b == std::string_view::npos ? std::string_view() : rest.substr(b + 1);
    try {
      if (use_set)
        h.set(name, value);
      else
        h.add(name, value);
    } catch (const courier::error&) {
      // rejected: fine, as long as nothing was stored (checked below)
    }
    use_set = !use_set;
  }
  for (const auto& f : h)
    check_field(f.name, f.value);
  // Lookups must find every stored name, whatever its case.
  for (const auto& f : h)
    if (!h.get(f.name)) std::abort();
  return 0;
}
