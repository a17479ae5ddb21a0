// The header fields a request goes out with: its own, plus those its uri and body imply.
#pragma once

#include <courier/headers.hpp>
#include <courier/request.hpp>

namespace courier::testing {

/// The header fields an origin server receives for `req` from an asio_backend with default
/// options, in the order it writes them:
///  - the request's own fields (less Content-Length and Transfer-Encoding when it has a body:
///    the body's framing replaces them);
///  - Host (from the uri), User-Agent (asio_backend_options' default, "courier/0.1") and
///    Accept: */*, each unless the request sets it;
///  - Content-Type as the body implies it (a form's application/x-www-form-urlencoded,
///    multipart/form-data with the boundary "courier-stub", a bytes, file or stream body's
///    content_type), unless the request sets one;
///  - Content-Length for a body of known size (a file's size now; left out when the file cannot
///    be read), Transfer-Encoding: chunked for a stream of unknown size, and Content-Length: 0
///    for a POST, PUT or PATCH without a body.
/// Left out: a proxy's Proxy-Authorization, and a user agent set in the backend's options.
/// The stub's header matchers (has_header, header_is) test these fields.
courier::headers effective_headers(const request_data& req);

}  // namespace courier::testing
