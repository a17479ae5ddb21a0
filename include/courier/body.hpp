// Request bodies: text and bytes, a file read as it is sent, url-encoded forms, multipart, and
// streamed sources.
#pragma once

#include <courier/error.hpp>
#include <courier/headers.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace courier {

/// Text or bytes held in memory.
struct bytes_body {
  /// The bytes sent as they are.
  std::string data{};
  /// Sent as Content-Type (none when empty).
  std::string content_type{};
};

/// A file, read from disk as it is sent (never loaded whole). Its size gives Content-Length.
struct file_body {
  /// The file to send.
  std::filesystem::path path{};
  /// Sent as Content-Type.
  std::string content_type = "application/octet-stream";
};

/// application/x-www-form-urlencoded fields, encoded when sent.
struct form_body {
  /// Name and value pairs, in order, percent-encoded when sent.
  std::vector<std::pair<std::string, std::string>> fields{};
};

/// One part of a multipart/form-data body: a field with a value, or a file.
struct multipart_part {
  /// The form field name (Content-Disposition name).
  std::string name{};
  std::string value{};                          ///< the content, when not a file
  std::optional<std::filesystem::path> file{};  ///< read when sent, when set
  std::optional<std::string> filename{};        ///< defaults to the file's name for files
  std::string content_type{};                   ///< empty: none for fields, octet-stream for files
  /// More headers for this part.
  courier::headers extra_headers{};

  /// A plain field.
  static multipart_part field(std::string name, std::string value);
  /// A file upload; the file is read when the request is sent.
  static multipart_part from_file(std::string name, std::filesystem::path path,
                                  std::string content_type = "application/octet-stream");
  /// In-memory bytes sent as a file with the given name.
  static multipart_part from_bytes(std::string name, std::string data, std::string filename,
                                   std::string content_type = "application/octet-stream");
};

/// A multipart/form-data body; the boundary is chosen when it is sent.
struct multipart_body {
  /// The parts, in order.
  std::vector<multipart_part> parts{};
};

/// A streamed request body's source threw or broke its promise (gave fewer bytes than its size).
/// The request is aborted and its connection closed. code() is errc::write_failed.
class body_source_error : public write_error {
 public:
  /// Made with the message that what() returns.
  using write_error::write_error;
};

namespace detail {
/// A coroutine source (see body_from_async() in <courier/body_source.hpp>); kept opaque here so
/// that this header needs no Asio.
struct async_body_reader;
}  // namespace detail

/// A body produced while it is sent, a buffer at a time: from a callable, a std::istream or a
/// coroutine. Make one with the builders of <courier/body_source.hpp>. Sent with Content-Length
/// when `size` is set, chunked otherwise. A read that throws aborts the request with
/// body_source_error and the connection is closed, not reused.
struct stream_body {
  /// Fills the buffer with the next bytes and returns how many; 0 means the body is complete.
  /// Runs on the thread of a sync send, else on a backend I/O thread. Empty when `async_read` is
  /// the source.
  std::function<std::size_t(std::span<char>)> read;
  /// A coroutine source, used instead of `read` when set.
  std::shared_ptr<const detail::async_body_reader> async_read;
  /// Starts the source again from its first byte, for a 307/308 redirect that resends the body.
  /// Empty: the body can be sent once, and such a redirect fails with invalid_request.
  std::function<void()> rewind;
  /// The exact number of bytes the source gives, when known (sent as Content-Length; a source
  /// that gives fewer fails the request, more are not sent).
  std::optional<std::uint64_t> size;
  /// Sent as Content-Type.
  std::string content_type = "application/octet-stream";
};

/// What a request sends. std::monostate is no body.
using body =
    std::variant<std::monostate, bytes_body, file_body, form_body, multipart_body, stream_body>;

}  // namespace courier
