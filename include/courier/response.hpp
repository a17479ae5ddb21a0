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
  response_head head;
  raw_body body;
  std::vector<redirect_record> history;
  courier::uri final_uri;
};

template <class T>
class response {
 public:
  response() = default;
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

  int status() const noexcept { return head_.status; }
  const std::string& reason() const noexcept { return head_.reason; }
  const courier::headers& headers() const noexcept { return head_.headers; }
  /// The first value of a header, if present.
  std::optional<std::string_view> header(std::string_view name) const {
    return head_.headers.get(name);
  }
  bool is_success() const noexcept { return head_.is_success(); }
  const response_head& head() const noexcept { return head_; }

  const T& body() const& noexcept { return body_; }
  T& body() & noexcept { return body_; }
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
