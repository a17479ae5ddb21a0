// When a request may be sent again on a fresh connection after a reused one failed.
#pragma once

#include <courier/error.hpp>
#include <courier/method.hpp>

#include <string>

namespace courier::asio_detail {

/// RFC 9110 9.2.2: sending an idempotent request twice has the effect of sending it once, so
/// one that may have reached the server can still be sent again without asking the caller.
inline bool is_idempotent(const courier::method& m) noexcept {
  using courier::method;
  return m == method::get || m == method::head || m == method::options || m == method::trace ||
         m == method::put || m == method::delete_;
}

/// The request went out on a reused connection that then closed without a response byte, and
/// its method is not idempotent: the server may have acted on it, so the caller decides.
[[noreturn]] inline void throw_not_resent(const courier::method& m, const std::string& where) {
  throw read_error("the reused connection to " + where + " closed without answering the " +
                   m.name() +
                   " request after it was sent; the server may have processed it, so it was "
                   "not retried (only idempotent requests are sent again automatically)");
}

}  // namespace courier::asio_detail
