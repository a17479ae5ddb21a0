// Request bodies: text and bytes, a file read as it is sent, url-encoded forms, multipart.
#pragma once

#include <courier/headers.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace courier {

/// Text or bytes held in memory.
struct bytes_body {
  std::string data;
  std::string content_type;
};

/// A file, read from disk as it is sent (never loaded whole). Its size gives Content-Length.
struct file_body {
  std::filesystem::path path;
  std::string content_type = "application/octet-stream";
};

/// application/x-www-form-urlencoded fields, encoded when sent.
struct form_body {
  std::vector<std::pair<std::string, std::string>> fields;
};

/// One part of a multipart/form-data body: a field with a value, or a file.
struct multipart_part {
  std::string name;
  std::string value;                          ///< the content, when not a file
  std::optional<std::filesystem::path> file;  ///< read when sent, when set
  std::optional<std::string> filename;        ///< defaults to the file's name for files
  std::string content_type;                   ///< empty: none for fields, octet-stream for files
  courier::headers extra_headers;

  /// A plain field.
  static multipart_part field(std::string name, std::string value);
  /// A file upload; the file is read when the request is sent.
  static multipart_part from_file(std::string name, std::filesystem::path path,
                                  std::string content_type = "application/octet-stream");
  /// In-memory bytes sent as a file with the given name.
  static multipart_part from_bytes(std::string name, std::string data, std::string filename,
                                   std::string content_type = "application/octet-stream");
};

struct multipart_body {
  std::vector<multipart_part> parts;
};

/// What a request sends. std::monostate is no body.
using body = std::variant<std::monostate, bytes_body, file_body, form_body, multipart_body>;

}  // namespace courier
