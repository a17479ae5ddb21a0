// json_error: why as_json_or_error() has no value. Either the server answered with an error
// status, or it answered 2xx with a body that is not the JSON asked for. The two are kept apart
// because they call for different handling: a 404 is often an answer, bad JSON is a bug.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace courier {

/// Why as_json_or_error() has no value: an error status (http_error) or a body that is not the
/// expected JSON (deserialization_error).
class json_error {
 public:
  /// The server answered with a status outside 2xx. The body is kept as text (converted to
  /// UTF-8 as as_string() does), not parsed: error bodies are often HTML or plain text.
  struct http_error {
    int status = 0;    ///< the HTTP status, outside 200-299
    std::string body;  ///< the body, as text
    /// Equal when status and body are.
    friend bool operator==(const http_error&, const http_error&) = default;
  };

  /// The status was 2xx, but the body is not valid JSON or does not convert to the asked type.
  struct deserialization_error {
    std::string message;  ///< what the JSON parser or the conversion reported
    std::string body;     ///< the body as received
    /// Equal when message and body are.
    friend bool operator==(const deserialization_error&, const deserialization_error&) = default;
  };

  /// An error status.
  json_error(http_error e) : cause_(std::move(e)) {}
  /// A body that is not the expected JSON.
  json_error(deserialization_error e) : cause_(std::move(e)) {}

  /// The error status and its body, or null when the failure is a deserialization error.
  const http_error* as_http_error() const noexcept { return std::get_if<http_error>(&cause_); }
  /// The deserialization failure, or null when the server answered with an error status.
  const deserialization_error* as_deserialization_error() const noexcept {
    return std::get_if<deserialization_error>(&cause_);
  }
  /// Either alternative, for std::visit.
  const std::variant<http_error, deserialization_error>& cause() const noexcept { return cause_; }

  /// The body of the response, in both cases.
  const std::string& body() const noexcept {
    return std::visit([](const auto& e) -> const std::string& { return e.body; }, cause_);
  }

  /// One line for a log or an exception: `the server answered 404, not 2xx; body: "..."` or
  /// `the body is not the expected JSON (<parser message>); body: "..."`. Bytes outside
  /// printable ASCII are escaped (as `\x0a`) and the body is cut at 200 bytes.
  std::string message() const;

  /// Equal when both hold the same alternative with equal fields.
  friend bool operator==(const json_error&, const json_error&) = default;

 private:
  std::variant<http_error, deserialization_error> cause_;
};

}  // namespace courier
