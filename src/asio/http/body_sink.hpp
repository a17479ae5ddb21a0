// Where a response body goes when it is not kept in memory (a file, nowhere), and the parts of
// reading a response that do not depend on the HTTP version: redirect statuses, Location
// encoding, content decoding.
#pragma once

#include "core/content_decoder.hpp"

#include <courier/headers.hpp>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace courier::asio_detail {

/// Takes a response body's bytes (decoded) as they arrive.
class body_sink {
 public:
  virtual ~body_sink() = default;
  /// More bytes. Throws courier::file_error when they cannot be stored.
  virtual void write(std::string_view data) = 0;
  /// The body is complete (a file is moved into place).
  virtual void finish() {}
};

/// Writes to a temporary file beside `target`, renamed into place by finish(): a failed
/// download never leaves a partial file under the asked name. Throws file_error.
std::unique_ptr<body_sink> make_file_sink(std::filesystem::path target);
/// Drops every byte.
std::unique_ptr<body_sink> make_discard_sink();

/// Hands `data` to `write`, through `decoder` when there is one (`scratch` holds the decoded
/// bytes). Throws what the decoder throws (body_too_large past its limit, protocol_error).
template <class Write>
void decode_then(detail::content_decoder* decoder, std::string& scratch, std::string_view data,
                 Write&& write) {
  if (!decoder) {
    write(data);
    return;
  }
  scratch.clear();
  decoder->decode(data, scratch);
  write(std::string_view(scratch));
}

/// 301, 302, 303, 307 or 308: a status that is followed when it names a Location.
bool is_redirect_status(int status) noexcept;

/// A Location as browsers and curl follow it: raw UTF-8 bytes percent-encoded ("/café" to
/// "/caf%C3%A9"), everything else unchanged.
std::string encode_location(std::string_view location);

/// The decoder for the response's Content-Encoding (all its fields as one list), or null when
/// there is nothing to decode; with one, the Content-Encoding and Content-Length fields are
/// erased (the caller gets the decoded body). `limit` bounds the decoded size. Throws
/// protocol_error naming `where` for a coding that cannot be decoded.
std::unique_ptr<detail::content_decoder> decoder_for(courier::headers& fields, std::size_t limit,
                                                     const std::string& where);

}  // namespace courier::asio_detail
