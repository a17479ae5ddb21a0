// HTTP header fields: case-insensitive names, several values per name, validated on entry.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier {

/// One header line: a name and its value.
struct header_field {
  /// As written (names compare case-insensitively in headers).
  std::string name;
  /// The value, as sent or received.
  std::string value;
  /// Equal when name and value are equal, byte for byte.
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
  /// Walks the fields in order.
  using const_iterator = std::vector<header_field>::const_iterator;

  headers() = default;
  /// These fields, in order; throws invalid_header for a name or value that cannot be sent.
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
  /// Removes every field; the room stays.
  void clear() noexcept { fields_.clear(); }

  /// The first value of `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const;
  /// Every value of `name`, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  /// Whether a field named `name` (any case) is present.
  bool contains(std::string_view name) const { return get(name).has_value(); }

  /// The first field.
  const_iterator begin() const noexcept { return fields_.begin(); }
  /// Past the last field.
  const_iterator end() const noexcept { return fields_.end(); }
  /// The number of fields (a repeated name counts each time).
  std::size_t size() const noexcept { return fields_.size(); }
  /// True when there are no fields.
  bool empty() const noexcept { return fields_.empty(); }

  /// Equal when the same fields are in the same order.
  friend bool operator==(const headers&, const headers&) = default;

 private:
  std::vector<header_field> fields_;
};

}  // namespace courier
