// What an HTTP/2 request starts with: the pseudo-header fields and the regular ones.
#pragma once

#include <courier/headers.hpp>
#include <courier/method.hpp>
#include <courier/uri.hpp>

#include <string>

namespace courier::proto::http2 {

struct request_head {
  courier::method method = courier::method::get;
  /// :scheme, "https" or "http".
  std::string scheme = "https";
  /// :authority, host[:port] as the URI has it. When empty, a Host field supplies it.
  std::string authority;
  /// :path, the origin-form target ("/index.html?q=1").
  std::string path = "/";
  /// Regular fields in courier's form. Names are lowercased on the wire; the fields that are
  /// HTTP/1.1-only (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade and
  /// Host) are left out, and TE is kept only as "trailers" (RFC 9113 8.2.2).
  courier::headers fields;
};

/// The head of a request for `target` as courier's own types give it: :scheme, :authority
/// (host, and the port when it is not the default) and :path (path?query, "/" when empty)
/// from the uri; `fields` are the request's merged fields, as for HTTP/1.1.
request_head make_request_head(const courier::method& method, const courier::uri& target,
                               courier::headers fields);

/// How the body of a submitted request is supplied.
enum class request_body {
  none,      ///< no body: the HEADERS frame ends the stream
  supplied,  ///< the body follows in pieces given to supply_body(), the last one with end = true
};

}  // namespace courier::proto::http2
