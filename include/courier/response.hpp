// response<T>: what came back, with the body read as the request's response_as<T> said.
#pragma once

#include <courier/request.hpp>
#include <courier/response_head.hpp>

#include <string>
#include <utility>
#include <vector>

namespace courier {

/// The untyped result a backend hands back: the final head, the body as read, the redirects
/// followed on the way, and the uri that gave the final answer.
struct raw_response {
  /// The final status line and headers.
  response_head head;
  /// The body as read.
  raw_body body;
  /// Each redirect followed, oldest first.
  std::vector<redirect_record> history;
  /// The uri that gave the final answer.
  courier::uri final_uri;
};

/// The answer to a request<T>: the final status and headers, the body read as T, the
/// redirects followed and the request that produced it.
template <class T>
class response {
 public:
  response() = default;
  /// A response made of its parts (for backends and tests).
  response(response_head head, T body, std::vector<redirect_record> history, request_data req,
           courier::uri final_uri)
      : head_(std::move(head)),
        body_(std::move(body)),
        history_(std::move(history)),
        request_(std::move(req)),
        final_uri_(std::move(final_uri)) {}
  /// What a backend read, with its body converted: each part moved once, the request copied
  /// once (a response is built per request, so every extra move shows).
  response(raw_response&& raw, T body, const request_data& req)
      : head_(std::move(raw.head)),
        body_(std::move(body)),
        history_(std::move(raw.history)),
        request_(req),
        final_uri_(std::move(raw.final_uri)) {}

  /// The status code, e.g. 200.
  int status() const noexcept { return head_.status; }
  /// The reason phrase, e.g. "OK".
  const std::string& reason() const noexcept { return head_.reason; }
  /// The response headers.
  const courier::headers& headers() const noexcept { return head_.headers; }
  /// The first value of a header, if present.
  std::optional<std::string_view> header(std::string_view name) const {
    return head_.headers.get(name);
  }
  /// True for a 2xx status.
  bool is_success() const noexcept { return head_.is_success(); }
  /// The status line and headers together.
  const response_head& head() const noexcept { return head_; }
  /// The protocol that answered: http_version::http1_1 or http_version::http2.
  http_version version() const noexcept { return head_.version; }
  /// Trailer fields sent after the body (HTTP/2, or a chunked HTTP/1.1 body); empty when there
  /// were none. An as_stream() body has them on body_stream::trailers() instead.
  const courier::headers& trailers() const noexcept { return head_.trailers; }

  /// The body, read as T.
  const T& body() const& noexcept { return body_; }
  /// The body, read as T.
  T& body() & noexcept { return body_; }
  /// The body, moved out.
  T&& body() && noexcept { return std::move(body_); }

  /// Each redirect followed before this response, oldest first.
  const std::vector<redirect_record>& history() const noexcept { return history_; }
  /// The request as the caller described it.
  const request_data& request() const noexcept { return request_; }
  /// Where the final response came from (differs from request().uri() after redirects).
  const courier::uri& uri() const noexcept { return final_uri_; }

 private:
  response_head head_;
  T body_{};
  std::vector<redirect_record> history_;
  request_data request_;
  courier::uri final_uri_;
};

namespace detail {
/// Applies the request's response_as to what the backend read.
template <class T>
response<T> make_response(const request<T>& req, raw_response&& raw) {
  T body = req.response_as().convert(raw.head, std::move(raw.body));
  return response<T>(std::move(raw), std::move(body), req.data());
}
}  // namespace detail

}  // namespace courier
