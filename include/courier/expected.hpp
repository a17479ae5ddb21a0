// courier::expected: a value or an error, as std::expected (C++23) spells it, for C++20.
#pragma once

#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace courier {

/// The error side of an expected, as in std::unexpected: return unexpected(e) to fail.
template <class E>
class unexpected {
 public:
  /// Wraps `e`.
  explicit unexpected(E e) : error_(std::move(e)) {}
  /// The error.
  const E& error() const& noexcept { return error_; }
  /// The error.
  E& error() & noexcept { return error_; }
  /// The error, moved out.
  E&& error() && noexcept { return std::move(error_); }

 private:
  E error_;
};

/// Thrown by expected::value() when it holds an error.
class bad_expected_access : public std::logic_error {
 public:
  bad_expected_access() : std::logic_error("courier::expected holds an error, not a value") {}
};

/// Holds either a T (the expected case) or an E. Used by as_string_or_error(), where the error
/// side is the body of a non-2xx response.
template <class T, class E>
class expected {
 public:
  /// The value type.
  using value_type = T;
  /// The error type.
  using error_type = E;

  expected() : v_(std::in_place_index<0>) {}
  /// Holds a value.
  expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  /// Holds the error of `e`.
  expected(unexpected<E> e) : v_(std::in_place_index<1>, std::move(e).error()) {}

  /// True when it holds a value.
  bool has_value() const noexcept { return v_.index() == 0; }
  /// True when it holds a value.
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; throws bad_expected_access when it holds an error.
  const T& value() const& {
    if (!has_value()) throw bad_expected_access();
    return std::get<0>(v_);
  }
  /// The value; throws bad_expected_access when it holds an error.
  T& value() & {
    if (!has_value()) throw bad_expected_access();
    return std::get<0>(v_);
  }
  /// The value, moved out; throws bad_expected_access when it holds an error.
  T&& value() && {
    if (!has_value()) throw bad_expected_access();
    return std::get<0>(std::move(v_));
  }
  /// The error; only valid when has_value() is false.
  const E& error() const& { return std::get<1>(v_); }
  /// The error; only valid when has_value() is false.
  E& error() & { return std::get<1>(v_); }
  /// The error, moved out; only valid when has_value() is false.
  E&& error() && { return std::get<1>(std::move(v_)); }

  /// The value, unchecked.
  const T& operator*() const& { return std::get<0>(v_); }
  /// The value, unchecked.
  T& operator*() & { return std::get<0>(v_); }
  /// The value's members, unchecked.
  const T* operator->() const { return &std::get<0>(v_); }
  /// The value's members, unchecked.
  T* operator->() { return &std::get<0>(v_); }

  /// The value, or `fallback` when it holds an error.
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  /// Equal when both hold equal values or equal errors.
  friend bool operator==(const expected&, const expected&) = default;

 private:
  std::variant<T, E> v_;
};

}  // namespace courier
