#include "proto/http2/request_head.hpp"

#include <utility>

namespace courier::proto::http2 {

request_head make_request_head(const courier::method& method, const courier::uri& target,
                               courier::headers fields) {
  request_head head;
  head.method = method;
  // HTTP/2 has no ws: schemes (RFC 8441 would carry them as https with :protocol).
  head.scheme = target.is_secure() ? "https" : "http";
  head.authority = target.authority();
  head.path = target.target();
  if (head.path.empty()) head.path = "/";
  head.fields = std::move(fields);
  return head;
}

}  // namespace courier::proto::http2
