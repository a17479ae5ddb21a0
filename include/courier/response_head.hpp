// The status line and headers of a response, before its body is read.
#pragma once

#include <courier/headers.hpp>
#include <courier/http_version.hpp>
#include <courier/method.hpp>
#include <courier/uri.hpp>

#include <string>

namespace courier {

/// A response's status line and headers.
struct response_head {
  /// The status code, e.g. 200.
  int status = 0;
  /// The reason phrase, e.g. "OK".
  std::string reason;
  /// The response headers.
  courier::headers headers;
  /// The protocol that answered: http_version::http1_1 or http_version::http2.
  http_version version = http_version::http1_1;
  /// Trailer fields sent after the body (HTTP/2, or a chunked HTTP/1.1 body), once the body
  /// has been read; empty when
  /// there were none or the body is read as a stream.
  courier::headers trailers;

  /// True for a 2xx status.
  bool is_success() const noexcept { return status >= 200 && status < 300; }
  /// True for a 3xx status.
  bool is_redirect() const noexcept { return status >= 300 && status < 400; }
};

/// One hop of a followed redirect: what was asked and what came back.
struct redirect_record {
  /// The method of the request that was redirected.
  courier::method method{courier::method::get};
  /// The uri that answered with a redirect.
  courier::uri uri;
  /// The redirect's status line and headers.
  response_head head;
};

}  // namespace courier
