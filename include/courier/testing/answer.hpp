// What a stub rule answers: a response (status, body, headers), after a delay, or an error.
#pragma once

#include <courier/error.hpp>
#include <courier/headers.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace courier::testing {

/// One answer: answer(404, "not found"), answer(201, "{}", {{"Content-Type",
/// "application/json"}}).after(50ms), or failure(errc::connect_failed).
struct answer {
  answer() = default;
  /// An answer with this status, body and headers.
  answer(int status_code, std::string body_text = {}, courier::headers header_fields = {})
      : status(status_code), body(std::move(body_text)), headers(std::move(header_fields)) {}

  /// The same answer, given after `d`.
  answer after(std::chrono::milliseconds d) const {
    answer a = *this;
    a.delay = d;
    return a;
  }
  /// The same answer with another reason phrase.
  answer with_reason(std::string r) const {
    answer a = *this;
    a.reason = std::move(r);
    return a;
  }

  /// The status code.
  int status = 200;
  /// The body.
  std::string body;
  /// The response headers.
  courier::headers headers;
  /// The reason phrase; empty means the standard one for the status ("Not Found").
  std::string reason;
  /// Wait this long before answering (other requests are not held up). A request whose
  /// read_timeout or timeout is shorter fails with a timeout error instead, as it would live.
  std::chrono::milliseconds delay{0};
  /// When set, the request fails with this error instead of being answered: connect_failed,
  /// timeout, read_failed, ... (the sync API throws the matching exception type).
  std::optional<courier::errc> error;
  /// The message of that error; empty gives one that names the request.
  std::string error_message;
};

/// An answer that fails with `code`.
inline answer failure(courier::errc code, std::string message = {}) {
  answer a;
  a.error = code;
  a.error_message = std::move(message);
  return a;
}

}  // namespace courier::testing
