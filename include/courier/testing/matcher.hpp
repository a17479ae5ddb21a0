// What a stub rule tests a request against: method, uri, headers, body, or any predicate.
#pragma once

#include <courier/method.hpp>
#include <courier/request.hpp>
#include <courier/testing/effective_headers.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace courier::testing {

/// A predicate over a request, with a description used in error messages. Combine with
/// `&&`, `||` and `!`.
class matcher {
 public:
  /// The test a request must pass.
  using predicate = std::function<bool(const request_data&)>;

  /// A matcher that tests with `p`; `description` names it in unmatched_request messages.
  matcher(predicate p, std::string description)
      : predicate_(std::move(p)), description_(std::move(description)) {}

  /// True when `req` matches.
  bool operator()(const request_data& req) const { return predicate_(req); }
  /// What this matcher looks for, e.g. "path_is(/users/42)".
  const std::string& description() const noexcept { return description_; }

  /// Both match.
  friend matcher operator&&(matcher a, matcher b);
  /// Either matches.
  friend matcher operator||(matcher a, matcher b);
  /// `a` does not match.
  friend matcher operator!(matcher a);

 private:
  predicate predicate_;
  std::string description_;
};

/// Every request.
matcher any_request();
/// The method, e.g. method_is(courier::method::post).
matcher method_is(courier::method m);
/// The whole uri, query included, as the request will send it (e.g. "https://a.example/x?q=1").
matcher uri_is(std::string_view uri);
/// The whole uri starts with `prefix`.
matcher uri_starts_with(std::string_view prefix);
/// The whole uri matches an ECMAScript regular expression (the whole of it must match).
/// Throws courier::invalid_request for a bad expression.
matcher uri_matches(std::string_view pattern);
/// The encoded path, e.g. path_is("/users/42").
matcher path_is(std::string_view path);
/// The encoded path starts with `prefix`.
matcher path_starts_with(std::string_view prefix);
/// The host, without port.
matcher host_is(std::string_view host);
/// A query parameter with this (decoded) name and value.
matcher query_has(std::string_view name, std::string_view value);
/// A header with this name (any value), among the fields the request goes out with: its own
/// and those its uri and body imply (Host, Content-Type, Content-Length, ...; see
/// effective_headers()).
matcher has_header(std::string_view name);
/// Such a header whose value is exactly `value`.
matcher header_is(std::string_view name, std::string_view value);
/// The body as it would be sent (text, bytes, a form url-encoded, a file's content) equals
/// `body`. Multipart bodies are compared with a fixed boundary, "courier-stub".
matcher body_is(std::string_view body);
/// The body as it would be sent contains `part`.
matcher body_contains(std::string_view part);
/// Any predicate; the description appears in error messages.
matcher where(std::function<bool(const request_data&)> p,
              std::string description = "a custom predicate");

/// The bytes a request's body would send (see body_is). Throws courier::file_error when a
/// file body cannot be read.
std::string body_bytes(const request_data& req);

/// "GET https://a.example/x": how stub errors name a request.
std::string describe(const request_data& req);

}  // namespace courier::testing
