// courier::expected: a value or an error, as std::expected (C++23) spells it, for C++20.
#pragma once

#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace courier {

template <class E>
class unexpected {
 public:
  explicit unexpected(E e) : error_(std::move(e)) {}
  const E& error() const& noexcept { return error_; }
  E& error() & noexcept { return error_; }
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
  using value_type = T;
  using error_type = E;

  expected() : v_(std::in_place_index<0>) {}
  expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  expected(unexpected<E> e) : v_(std::in_place_index<1>, std::move(e).error()) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  const T& value() const& {
    if (!has_value()) throw bad_expected_access();
    return std::get<0>(v_);
  }
  T& value() & {
    if (!has_value()) throw bad_expected_access();
    return std::get<0>(v_);
  }
  T&& value() && {
    if (!has_value()) throw bad_expected_access();
    return std::get<0>(std::move(v_));
  }
  const E& error() const& { return std::get<1>(v_); }
  E& error() & { return std::get<1>(v_); }
  E&& error() && { return std::get<1>(std::move(v_)); }

  const T& operator*() const& { return std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  friend bool operator==(const expected&, const expected&) = default;

 private:
  std::variant<T, E> v_;
};

}  // namespace courier
