#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/method.hpp>
#include "core/quoted_input.hpp"

namespace courier {

method::method(std::string_view name) : name_(name) {
  try {
    validate_header_name(name);  // a method is a token, like a field name
  } catch (const invalid_header&) {
    throw invalid_request("invalid HTTP method " + detail::quoted_input(name, 64) +
                          ": a method must be a token such as GET or POST");
  }
}

const method method::get{trusted{}, "GET"};
const method method::head{trusted{}, "HEAD"};
const method method::post{trusted{}, "POST"};
const method method::put{trusted{}, "PUT"};
const method method::patch{trusted{}, "PATCH"};
const method method::delete_{trusted{}, "DELETE"};
const method method::options{trusted{}, "OPTIONS"};
const method method::trace{trusted{}, "TRACE"};
const method method::connect{trusted{}, "CONNECT"};

}  // namespace courier
