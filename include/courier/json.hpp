// Optional nlohmann-json integration: JSON request bodies and as_json<T>() responses.
// Include it only where you use it; courier.hpp does not.
#pragma once

#include <courier/body.hpp>
#include <courier/error.hpp>
#include <courier/response_as.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace courier {

/// A JSON body with Content-Type application/json. Use with request::with_body().
inline bytes_body json_body(const nlohmann::json& value) {
  return bytes_body{value.dump(), "application/json"};
}

/// Parses a 2xx body as JSON and converts it to T (nlohmann's from_json rules). A non-2xx
/// status, unparsable JSON or a failed conversion throws decode_error naming the cause.
template <class T = nlohmann::json>
response_as<T> as_json() {
  return {to_memory{}, [](const response_head& head, raw_body&& raw) -> T {
            if (!head.is_success()) {
              throw decode_error("as_json: status " + std::to_string(head.status) +
                                 " is not a success; body: " + raw.bytes.substr(0, 200));
            }
            try {
              return nlohmann::json::parse(raw.bytes).template get<T>();
            } catch (const nlohmann::json::exception& e) {
              throw decode_error(std::string("as_json: ") + e.what());
            }
          }};
}

}  // namespace courier
