#include <courier/error.hpp>
#include <courier/headers.hpp>
#include "core/hot_path.hpp"

#include "core/http_grammar.hpp"
#include "core/quoted_input.hpp"

#include <algorithm>

namespace courier {
namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// One byte as a message shows it: 'x', "a space", or the byte \x0a.
std::string describe(unsigned char c) {
  if (c == ' ') return "a space";
  const char ch = static_cast<char>(c);
  if (c < 0x20 || c >= 0x7f) return "the byte " + detail::escaped_input(std::string_view(&ch, 1));
  return std::string("'") + ch + "'";
}

}  // namespace

COURIER_HOT bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

void validate_header_name(std::string_view name) {
  if (name.empty()) throw invalid_header("header name is empty");
  for (unsigned char c : name) {
    if (!detail::is_tchar(c)) {
      throw invalid_header("header name " + detail::quoted_input(name, 64) + " holds " +
                           describe(c) + ", which a field name cannot hold");
    }
  }
}

void validate_header_value(std::string_view name, std::string_view value) {
  for (unsigned char c : value) {
    // field-value = *( VCHAR / obs-text / SP / HTAB ): any other control would let the value
    // end the field early (CR, LF) or confuse parsers (NUL).
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      throw invalid_header("the value of header " + detail::quoted_input(name, 64) + " holds " +
                           describe(c) + " (" + detail::quoted_input(value, 64) +
                           "); CR, LF, NUL and other controls are rejected to prevent injection");
    }
  }
}

headers::headers(std::initializer_list<header_field> fields) {
  for (const auto& f : fields)
    add(f.name, f.value);
}

void headers::add(std::string_view name, std::string_view value) {
  validate_header_name(name);
  validate_header_value(name, value);
  fields_.push_back({std::string(name), std::string(value)});
}

void headers::set(std::string_view name, std::string_view value) {
  validate_header_name(name);
  validate_header_value(name, value);
  erase(name);
  fields_.push_back({std::string(name), std::string(value)});
}

std::size_t headers::erase(std::string_view name) {
  auto before = fields_.size();
  std::erase_if(fields_, [&](const header_field& f) { return iequals(f.name, name); });
  return before - fields_.size();
}

COURIER_HOT void headers::add_unchecked(std::string_view name, std::string_view value) {
  // Appended to the new, empty strings: less code than an assignment, which also handles
  // overlap and reuse.
  header_field& f = fields_.emplace_back();
  f.name.append(name);
  f.value.append(value);
}

COURIER_HOT std::optional<std::string_view> headers::get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) out.emplace_back(f.value);
  }
  return out;
}

}  // namespace courier
