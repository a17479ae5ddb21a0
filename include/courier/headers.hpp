// HTTP header fields: case-insensitive names, several values per name, validated on entry.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier {

struct header_field {
  std::string name;
  std::string value;
  friend bool operator==(const header_field&, const header_field&) = default;
};

/// True when `a` and `b` are equal ignoring ASCII case (header names, schemes, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// Throws invalid_header unless `name` is an RFC 9110 token.
void validate_header_name(std::string_view name);
/// Throws invalid_header if `value` holds CR, LF, NUL or another control character, which
/// would let a caller inject headers or split the request.
void validate_header_value(std::string_view name, std::string_view value);

/// An ordered list of header fields. Lookups ignore the case of names; order and repeated
/// names are kept as sent or received.
class headers {
 public:
  using const_iterator = std::vector<header_field>::const_iterator;

  headers() = default;
  headers(std::initializer_list<header_field> fields);

  /// Adds a field after validating it.
  void add(std::string_view name, std::string_view value);
  /// Replaces every field named `name` with one field.
  void set(std::string_view name, std::string_view value);
  /// Removes every field named `name`; returns how many were removed.
  std::size_t erase(std::string_view name);
  /// Adds a field without validation: for fields the parser already checked.
  /// The field is built in place: a parser adds views of its input, with no temporaries.
  void add_unchecked(std::string_view name, std::string_view value);
  /// Room for `n` fields without reallocating.
  void reserve(std::size_t n) { fields_.reserve(n); }

  /// The first value of `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const;
  /// Every value of `name`, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }

  const_iterator begin() const noexcept { return fields_.begin(); }
  const_iterator end() const noexcept { return fields_.end(); }
  std::size_t size() const noexcept { return fields_.size(); }
  bool empty() const noexcept { return fields_.empty(); }

  friend bool operator==(const headers&, const headers&) = default;

 private:
  std::vector<header_field> fields_;
};

}  // namespace courier
