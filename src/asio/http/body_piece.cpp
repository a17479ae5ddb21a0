#include "asio/http/body_piece.hpp"

#include <courier/body_source.hpp>
#include <courier/error.hpp>

#include <exception>

namespace courier::asio_detail {

net::awaitable<std::size_t> read_body_piece(detail::encoded_body& body, std::span<char> into,
                                            const std::string& where) {
  try {
    const auto* async_source = body.source->async_reader();
    if (!async_source) co_return body.source->read(into.data(), into.size());
    // Its exceptions fail the request like a sync source's.
    const std::size_t asked = body.source->async_read_limit(into.size());
    std::size_t got = 0;
    std::exception_ptr failure;
    if (asked > 0) {
      try {
        got = co_await async_source->read(into.first(asked));
      } catch (...) {
        failure = std::current_exception();
      }
    }
    if (failure) body.source->async_read_failed(failure);
    co_return body.source->async_read_done(asked, got);
  } catch (const body_source_error& e) {
    throw body_source_error(std::string(e.what()) + " (request to " + where + ")");
  }
}

}  // namespace courier::asio_detail
