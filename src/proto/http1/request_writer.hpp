// Writing an HTTP/1.1 request: the head, and the framing of a chunked body.
#pragma once

#include <courier/headers.hpp>
#include <courier/method.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace courier::proto::http1 {

/// "METHOD target HTTP/1.1\r\n", one "Name: value\r\n" line per field in order, then "\r\n".
/// The caller supplies every field (Host, Content-Length or Transfer-Encoding, ...). Throws
/// courier::invalid_request for a target, and courier::invalid_header for a field, that holds
/// CR, LF, NUL or (in the target) a space or other control character: it would split the request.
std::string serialize_request_head(const courier::method& method, std::string_view target,
                                   const courier::headers& fields);

/// The same head written a field at a time, for a caller that merges its fields from several
/// places (the request's, then defaults) without building a headers object first. Checks as
/// serialize_request_head does.
class request_head_writer {
 public:
  /// `storage`: a string whose capacity the head may reuse (its contents are dropped), such as
  /// the one finish() returned for the previous request on a connection.
  request_head_writer(const courier::method& method, std::string_view target,
                      std::string storage = {});
  void field(std::string_view name, std::string_view value);
  /// The field lines written so far (all but the request line), to be reused by fields_from().
  std::string_view fields() const noexcept;
  /// Copies field lines as fields() gave them for an earlier head: they were checked then.
  void fields_from(std::string_view written) { head_.append(written); }
  /// The head, ended by the empty line. The writer is empty afterwards.
  std::string finish();

 private:
  std::string head_;
  std::size_t request_line_size_ = 0;
};

/// The line that starts a chunk of `size` bytes (size > 0): the size in hex, then CRLF.
/// Throws std::invalid_argument for 0, which would end the body: send last_chunk instead.
std::string chunk_prefix(std::size_t size);
/// Ends the data of each chunk.
inline constexpr std::string_view chunk_suffix = "\r\n";
/// Ends a chunked body (no trailers).
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

}  // namespace courier::proto::http1
