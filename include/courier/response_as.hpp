// response_as<T>: how a response body becomes a T. It is part of a request's type.
#pragma once

#include <courier/error.hpp>
#include <courier/expected.hpp>
#include <courier/response_head.hpp>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace courier {

/// Where a backend puts the bytes of a body while it reads them.
struct to_memory {};
/// Written to `path` as the bytes arrive, through a temporary file that is renamed into place
/// when the body is complete, so that a failed download leaves no partial file.
struct to_file {
  /// Where the body is written.
  std::filesystem::path path;
};
/// Read and dropped (the connection stays usable).
struct to_discard {};
/// Not read by the backend: handed to the caller, who pulls it (as_stream(), in
/// <courier/body_stream.hpp>). Only backends with supports_streaming accept it.
struct to_stream {};
/// Where a backend puts the body it reads.
using body_destination = std::variant<to_memory, to_file, to_discard, to_stream>;

namespace detail {
class body_stream_source;  // <courier/body_stream.hpp>
}  // namespace detail

/// What a backend read: the bytes (to_memory), nothing (to_file, to_discard), or the stream the
/// caller reads the body from (to_stream).
struct raw_body {
  /// The body, for to_memory.
  std::string bytes;
  /// The source to read the body from, for to_stream.
  std::shared_ptr<detail::body_stream_source> stream;
};

/// Describes how to read a body and what to make of it. map() transforms the result.
template <class T>
class response_as {
 public:
  /// What the body becomes.
  using value_type = T;
  /// Turns the head and the body as read into a T; throws decode_error when it cannot.
  using convert_fn = std::function<T(const response_head&, raw_body&&)>;

  /// Reads into `destination`, then makes a T with `convert`.
  response_as(body_destination destination, convert_fn convert)
      : destination_(std::move(destination)), convert_(std::move(convert)) {}

  /// Where the backend puts the body.
  const body_destination& destination() const noexcept { return destination_; }
  /// Makes the T from the head and the body as read.
  T convert(const response_head& head, raw_body&& raw) const {
    return convert_(head, std::move(raw));
  }

  /// A response_as that reads the same way and then applies `f` to the result.
  template <class F>
  auto map(F f) const -> response_as<std::invoke_result_t<F&, T&&>> {
    using U = std::invoke_result_t<F&, T&&>;
    return response_as<U>(destination_,
                          [inner = convert_, f = std::move(f)](const response_head& head,
                                                               raw_body&& raw) mutable -> U {
                            return f(inner(head, std::move(raw)));
                          });
  }

  /// Like map(), with the response head also passed to `f`.
  template <class F>
  auto map_with_head(F f) const
      -> response_as<std::invoke_result_t<F&, T&&, const response_head&>> {
    using U = std::invoke_result_t<F&, T&&, const response_head&>;
    return response_as<U>(destination_,
                          [inner = convert_, f = std::move(f)](const response_head& head,
                                                               raw_body&& raw) mutable -> U {
                            return f(inner(head, std::move(raw)), head);
                          });
  }

 private:
  body_destination destination_;
  convert_fn convert_;
};

namespace detail {
/// The body turned to UTF-8 from the charset named in Content-Type (UTF-8 when none is named;
/// ISO-8859-1 and US-ASCII are converted; other charsets are returned as received).
std::string decode_text(const response_head& head, std::string&& bytes);
}  // namespace detail

/// The body as text, whatever the status.
inline response_as<std::string> as_string() {
  return {to_memory{}, [](const response_head& head, raw_body&& raw) {
            return detail::decode_text(head, std::move(raw.bytes));
          }};
}

/// The body as text: the value for a 2xx response, the error side for any other status (as in
/// sttp's asString). The default of basic_request().
inline response_as<expected<std::string, std::string>> as_string_or_error() {
  return {to_memory{},
          [](const response_head& head, raw_body&& raw) -> expected<std::string, std::string> {
            std::string text = detail::decode_text(head, std::move(raw.bytes));
            if (head.is_success()) return text;
            return unexpected<std::string>(std::move(text));
          }};
}

/// The body as raw bytes.
inline response_as<std::vector<std::byte>> as_bytes() {
  return {to_memory{}, [](const response_head&, raw_body&& raw) {
            const auto* p = reinterpret_cast<const std::byte*>(raw.bytes.data());
            return std::vector<std::byte>(p, p + raw.bytes.size());
          }};
}

/// The body written to `path` as it arrives; the result is the path.
inline response_as<std::filesystem::path> as_file(std::filesystem::path path) {
  body_destination dest = to_file{path};
  return {std::move(dest),
          [path = std::move(path)](const response_head&, raw_body&&) { return path; }};
}

/// The body is read and dropped.
inline response_as<std::monostate> ignore() {
  return {to_discard{}, [](const response_head&, raw_body&&) { return std::monostate{}; }};
}

}  // namespace courier
