// Optional nlohmann-json integration: JSON request bodies and JSON responses.
// Include it only where you use it; courier.hpp does not.
#pragma once

#include <courier/body.hpp>
#include <courier/error.hpp>
#include <courier/expected.hpp>
#include <courier/json_error.hpp>
#include <courier/response_as.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace courier {

/// A JSON body with Content-Type application/json. Use with request::with_body().
inline bytes_body json_body(const nlohmann::json& value) {
  return bytes_body{value.dump(), "application/json"};
}

namespace detail {
template <class T>
expected<T, json_error> read_json(const response_head& head, raw_body&& raw) {
  if (!head.is_success()) {
    return unexpected<json_error>(
        json_error::http_error{head.status, decode_text(head, std::move(raw.bytes))});
  }
  try {
    return nlohmann::json::parse(raw.bytes).template get<T>();
  } catch (const nlohmann::json::exception& e) {
    return unexpected<json_error>(
        json_error::deserialization_error{e.what(), std::move(raw.bytes)});
  }
}
}  // namespace detail

/// The body as JSON converted to T (nlohmann's from_json rules), with nothing thrown: the value
/// for a 2xx response; otherwise a json_error that keeps the two failures apart, an error
/// status with its body (json_error::http_error) or a 2xx body that is not the expected JSON
/// (json_error::deserialization_error). The JSON counterpart of as_string_or_error(), hence
/// the name, and the shape of sttp's asJson. Errors a from_json of yours throws that are not
/// nlohmann::json exceptions propagate from send().
template <class T = nlohmann::json>
response_as<expected<T, json_error>> as_json_or_error() {
  return {to_memory{}, [](const response_head& head, raw_body&& raw) {
            return detail::read_json<T>(head, std::move(raw));
          }};
}

/// The body as JSON converted to T, throwing on any failure: for code that only expects
/// success, as as_string() is for text. A non-2xx status, unparsable JSON or a failed
/// conversion throws decode_error with json_error::message() ("as_json: the server answered
/// 404, not 2xx; ..."). Use as_json_or_error() to handle an error status as a value.
template <class T = nlohmann::json>
response_as<T> as_json() {
  return {to_memory{}, [](const response_head& head, raw_body&& raw) -> T {
            auto result = detail::read_json<T>(head, std::move(raw));
            if (!result) throw decode_error("as_json: " + result.error().message());
            return std::move(result).value();
          }};
}

}  // namespace courier
