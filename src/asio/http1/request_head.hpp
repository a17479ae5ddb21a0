// The head of an HTTP/1.1 request as it goes on one connection: the request's own fields, the
// framing of its body, the defaults it lacks (kept per connection, written once), and the
// proxy's credentials when the request is forwarded through one.
#pragma once

#include "asio/connection/transport.hpp"
#include "core/body_encoder.hpp"

#include <courier/asio_backend.hpp>
#include <courier/headers.hpp>
#include <courier/method.hpp>
#include <courier/uri.hpp>

#include <string>

namespace courier::asio_detail {

std::string build_http1_head(const courier::method& m, const courier::uri& u, const headers& given,
                             const detail::encoded_body& body, const asio_backend_options& opts,
                             transport& conn);

}  // namespace courier::asio_detail
