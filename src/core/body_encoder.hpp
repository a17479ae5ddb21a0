// Turning a request's courier::body into bytes to send: a body_source the backend reads from after
// the head, plus the Content-Type it implies.
#pragma once

#include <courier/body.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::detail {

/// A good size for the buffer a backend reads a body_source into.
inline constexpr std::size_t body_chunk_size = std::size_t{64} << 10;

/// The bytes of a request body, read in pieces as they are sent.
class body_source {
 public:
  virtual ~body_source();
  /// The total size when known in advance (Content-Length); nullopt means send it chunked.
  virtual std::optional<std::uint64_t> size() const = 0;
  /// Copies up to `n` next bytes into `buf`; returns how many, 0 at the end. Throws
  /// courier::file_error (naming the file and the system's reason) when a file cannot be read.
  virtual std::size_t read(char* buf, std::size_t n) = 0;
  /// Starts again from the first byte (a 307/308 redirect sends the body again). Throws
  /// courier::invalid_request when the source cannot be read twice.
  virtual void rewind() = 0;
  /// Whether rewind() can succeed now (false for a streamed source without a rewind function
  /// once it has been read).
  virtual bool rewindable() const { return true; }
  /// Whether the whole body can be sent again after it has been sent (false for a streamed
  /// source without a rewind function).
  virtual bool replayable() const { return true; }

  /// A coroutine source: the backend awaits it for the next bytes instead of calling read(), asking
  /// for at most async_read_limit(n) bytes, and hands what it got to async_read_done().
  virtual const async_body_reader* async_reader() const { return nullptr; }
  virtual std::size_t async_read_limit(std::size_t n) const { return n; }
  virtual std::size_t async_read_done(std::size_t asked, std::size_t got) { return got; }
  /// Turns an exception thrown by the coroutine source into the error the request fails with.
  [[noreturn]] virtual void async_read_failed(std::exception_ptr e);
};

struct encoded_body {
  std::string content_type;             ///< empty: send no Content-Type
  std::unique_ptr<body_source> source;  ///< null: no body
};

/// Prepares `b` for sending. Files are opened (and their sizes taken) now, so a missing file is a
/// courier::file_error before anything is sent; they are read later, a chunk at a time. In-memory
/// data is copied (the rvalue overload moves it instead).
encoded_body encode_body(const courier::body& b);
encoded_body encode_body(courier::body&& b);

/// application/x-www-form-urlencoded, as browsers send it: space as '+', every byte but
/// ALPHA / DIGIT / "*-._" percent-encoded (UTF-8 text is encoded byte by byte).
std::string url_encode_form(const std::vector<std::pair<std::string, std::string>>& fields);

/// multipart/form-data with the given boundary (encode_body picks a random one). Throws
/// courier::invalid_request when the boundary is not a valid RFC 2046 boundary or occurs in an
/// in-memory part. For tests and for callers that need a fixed boundary.
encoded_body encode_multipart(const courier::multipart_body& body, std::string boundary);

/// A random boundary: "courier-" and 32 random letters and digits.
std::string random_multipart_boundary();

}  // namespace courier::detail
