#include <courier/json_error.hpp>
#include "core/quoted_input.hpp"

namespace courier {

std::string json_error::message() const {
  if (const auto* h = as_http_error()) {
    return "the server answered " + std::to_string(h->status) +
           ", not 2xx; body: " + detail::quoted_input(h->body);
  }
  const auto& d = std::get<deserialization_error>(cause_);
  return "the body is not the expected JSON (" + detail::escaped_input(d.message) +
         "); body: " + detail::quoted_input(d.body);
}

}  // namespace courier
