// The next piece of a request body from its source, sync or async, for HTTP/1.1 and HTTP/2.
#pragma once

#include "asio/connection/transport.hpp"

#include "core/body_encoder.hpp"

#include <boost/asio/awaitable.hpp>

#include <span>
#include <string>

namespace courier::asio_detail {

/// Reads up to `into.size()` bytes of `body` (which has a source): 0 when it is finished. A
/// coroutine source sets the pace; a failing source throws body_source_error naming `where`.
net::awaitable<std::size_t> read_body_piece(detail::encoded_body& body, std::span<char> into,
                                            const std::string& where);

}  // namespace courier::asio_detail
