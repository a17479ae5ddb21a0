#include "core/body_encoder.hpp"
#include "core/hot_path.hpp"

#include <courier/error.hpp>
#include <courier/headers.hpp>

#include <openssl/rand.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <type_traits>
#include <variant>

namespace courier {

multipart_part multipart_part::field(std::string name, std::string value) {
  multipart_part part;
  part.name = std::move(name);
  part.value = std::move(value);
  return part;
}

multipart_part multipart_part::from_file(std::string name, std::filesystem::path path,
                                         std::string content_type) {
  multipart_part part;
  part.name = std::move(name);
  part.file = std::move(path);
  part.content_type = std::move(content_type);
  return part;  // filename: the file's own name, taken when the body is encoded
}

multipart_part multipart_part::from_bytes(std::string name, std::string data, std::string filename,
                                          std::string content_type) {
  multipart_part part;
  part.name = std::move(name);
  part.value = std::move(data);
  part.filename = std::move(filename);
  part.content_type = std::move(content_type);
  return part;
}

namespace detail {

namespace {

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

class memory_source final : public body_source {
 public:
  explicit memory_source(std::string data) : data_(std::move(data)) {}
  std::optional<std::uint64_t> size() const override { return data_.size(); }
  std::size_t read(char* buf, std::size_t n) override {
    n = std::min(n, data_.size() - offset_);
    std::memcpy(buf, data_.data() + offset_, n);
    offset_ += n;
    return n;
  }
  void rewind() override { offset_ = 0; }

 private:
  std::string data_;
  std::size_t offset_ = 0;
};

// A file opened now and read as it is sent. A regular file's size is taken at open and is what
// is sent (Content-Length was promised); a pipe or device has no size and is sent chunked.
class file_source final : public body_source {
 public:
  explicit file_source(std::filesystem::path path) : path_(std::move(path)) {
    do {
      fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) fail("cannot open", errno);
    struct stat info {};
    if (::fstat(fd_, &info) != 0) fail("cannot stat", errno);
    if (S_ISDIR(info.st_mode)) {
      ::close(fd_);
      fd_ = -1;
      throw courier::file_error("cannot send '" + path_.string() +
                                "' as a request body: it is a directory");
    }
    if (S_ISREG(info.st_mode)) size_ = static_cast<std::uint64_t>(info.st_size);
  }
  ~file_source() override {
    if (fd_ >= 0) ::close(fd_);
  }
  file_source(const file_source&) = delete;
  file_source& operator=(const file_source&) = delete;

  std::optional<std::uint64_t> size() const override { return size_; }

  std::size_t read(char* buf, std::size_t n) override {
    if (size_) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, *size_ - offset_));
    if (n == 0) return 0;
    ssize_t got;
    do {
      got = ::read(fd_, buf, n);
    } while (got < 0 && errno == EINTR);
    if (got < 0) fail("cannot read", errno);
    if (got == 0 && size_ && offset_ < *size_) {
      throw courier::file_error("file '" + path_.string() +
                                "' shrank while it was sent: " + std::to_string(offset_) + " of " +
                                std::to_string(*size_) + " bytes read");
    }
    offset_ += static_cast<std::uint64_t>(got);
    return static_cast<std::size_t>(got);
  }

  void rewind() override {
    if (offset_ == 0) return;
    if (::lseek(fd_, 0, SEEK_SET) != 0) fail("cannot rewind (to send it again)", errno);
    offset_ = 0;
  }

 private:
  [[noreturn]] void fail(const char* what, int error) {
    throw courier::file_error(std::string(what) + " file '" + path_.string() +
                              "' for the request body: " + errno_text(error));
  }

  std::filesystem::path path_;
  int fd_ = -1;
  std::optional<std::uint64_t> size_;
  std::uint64_t offset_ = 0;
};

// Sources read one after the other: a multipart body of headers, values and files.
class sequence_source final : public body_source {
 public:
  explicit sequence_source(std::vector<std::unique_ptr<body_source>> parts)
      : parts_(std::move(parts)) {}

  std::optional<std::uint64_t> size() const override {
    std::uint64_t total = 0;
    for (const auto& part : parts_) {
      auto size = part->size();
      if (!size) return std::nullopt;
      total += *size;
    }
    return total;
  }

  std::size_t read(char* buf, std::size_t n) override {
    std::size_t done = 0;
    while (done < n && current_ < parts_.size()) {
      std::size_t got = parts_[current_]->read(buf + done, n - done);
      if (got == 0) {
        ++current_;
      } else {
        done += got;
      }
    }
    return done;
  }

  void rewind() override {
    for (auto& part : parts_)
      part->rewind();
    current_ = 0;
  }
  bool rewindable() const override {
    return std::all_of(parts_.begin(), parts_.end(), [](const auto& p) { return p->rewindable(); });
  }
  bool replayable() const override {
    return std::all_of(parts_.begin(), parts_.end(), [](const auto& p) { return p->replayable(); });
  }

 private:
  std::vector<std::unique_ptr<body_source>> parts_;
  std::size_t current_ = 0;
};

// A stream_body: the user's callable (or coroutine) gives the bytes. Everything it throws
// becomes body_source_error (courier errors keep their type), and a source that gives fewer bytes
// than the size it announced fails instead of leaving the server waiting for the rest.
class stream_source final : public body_source {
 public:
  explicit stream_source(stream_body b) : body_(std::move(b)) {
    if (!body_.read && !body_.async_read) {
      throw courier::invalid_request("a stream_body needs a read function or an async source");
    }
  }

  std::optional<std::uint64_t> size() const override { return body_.size; }

  std::size_t read(char* buf, std::size_t n) override {
    n = limit(n);
    if (n == 0) return 0;
    std::size_t got = 0;
    try {
      got = body_.read(std::span<char>(buf, n));
    } catch (...) {
      fail(std::current_exception());
    }
    return counted(n, got);
  }

  void rewind() override {
    if (offset_ == 0 && !ended_) return;
    if (!body_.rewind) {
      throw courier::invalid_request(
          "the streamed request body cannot be sent again (for a 307/308 redirect or a retry): "
          "its stream_body has no rewind function");
    }
    try {
      body_.rewind();
    } catch (...) {
      fail(std::current_exception());
    }
    offset_ = 0;
    ended_ = false;
  }
  bool rewindable() const override { return (offset_ == 0 && !ended_) || bool(body_.rewind); }
  bool replayable() const override { return bool(body_.rewind); }

  const async_body_reader* async_reader() const override { return body_.async_read.get(); }
  std::size_t async_read_limit(std::size_t n) const override { return limit(n); }
  std::size_t async_read_done(std::size_t asked, std::size_t got) override {
    return counted(asked, got);
  }
  [[noreturn]] void async_read_failed(std::exception_ptr e) override { fail(e); }

 private:
  std::size_t limit(std::size_t n) const {
    if (ended_) return 0;
    if (body_.size) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, *body_.size - offset_));
    return n;
  }
  std::size_t counted(std::size_t asked, std::size_t got) {
    if (got > asked) {
      throw courier::body_source_error("the request body source returned " + std::to_string(got) +
                                       " bytes for a buffer of " + std::to_string(asked));
    }
    if (got == 0) {
      ended_ = true;
      if (body_.size && offset_ < *body_.size) {
        throw courier::body_source_error("the request body source ended after " +
                                         std::to_string(offset_) + " of the " +
                                         std::to_string(*body_.size) + " bytes it announced");
      }
    }
    offset_ += got;
    return got;
  }
  [[noreturn]] void fail(std::exception_ptr e) const {
    const std::string where = "the request body source failed after " + std::to_string(offset_) +
                              " bytes were read from it: ";
    try {
      std::rethrow_exception(e);
    } catch (const courier::error&) {
      throw;
    } catch (const std::exception& ex) {
      throw courier::body_source_error(where + ex.what());
    } catch (...) {
      throw courier::body_source_error(where +
                                       "it threw an exception that is not a std::exception");
    }
  }

  stream_body body_;
  std::uint64_t offset_ = 0;
  bool ended_ = false;
};

// RFC 2046 section 5.1.1: 1 to 70 of these, not ending in a space.
bool valid_boundary(std::string_view boundary) {
  constexpr std::string_view extra = "'()+_,-./:=? ";
  if (boundary.empty() || boundary.size() > 70 || boundary.back() == ' ') return false;
  return std::all_of(boundary.begin(), boundary.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           extra.find(c) != std::string_view::npos;
  });
}

// A name or filename inside a quoted Content-Disposition parameter, escaped as browsers do
// (HTML's multipart/form-data encoding, allowed by RFC 7578 section 4.2): CR, LF and '"' become
// %0D, %0A and %22; other bytes, UTF-8 included, go as they are.
void append_quoted(std::string& out, std::string_view value) {
  out += '"';
  for (char c : value) {
    if (c == '"') {
      out += "%22";
    } else if (c == '\r') {
      out += "%0D";
    } else if (c == '\n') {
      out += "%0A";
    } else {
      out += c;
    }
  }
  out += '"';
}

// The delimiter line and the header section of one part.
std::string part_head(const multipart_part& part, std::string_view boundary) {
  std::string head;
  head.append("--").append(boundary).append("\r\n");
  head += "Content-Disposition: form-data; name=";
  append_quoted(head, part.name);
  std::optional<std::string> filename = part.filename;
  if (!filename && part.file) filename = part.file->filename().string();
  if (filename) {
    head += "; filename=";
    append_quoted(head, *filename);
  }
  head += "\r\n";
  std::string content_type = part.content_type;
  if (content_type.empty() && filename) content_type = "application/octet-stream";
  if (!content_type.empty() && !part.extra_headers.contains("Content-Type")) {
    courier::validate_header_value("Content-Type", content_type);
    head.append("Content-Type: ").append(content_type).append("\r\n");
  }
  for (const header_field& field : part.extra_headers) {
    courier::validate_header_name(field.name);
    courier::validate_header_value(field.name, field.value);
    head.append(field.name).append(": ").append(field.value).append("\r\n");
  }
  head += "\r\n";
  return head;
}

std::optional<std::string> boundary_clash(const courier::multipart_body& body,
                                          std::string_view boundary) {
  for (const multipart_part& part : body.parts) {
    if (!part.file && part.value.find(boundary) != std::string::npos) return part.name;
  }
  return std::nullopt;
}

encoded_body encode_form(const courier::form_body& form) {
  return {"application/x-www-form-urlencoded",
          std::make_unique<memory_source>(url_encode_form(form.fields))};
}

template <class Body>
encoded_body encode_any(Body&& b) {
  return std::visit(
      [](auto&& alternative) -> encoded_body {
        using T = std::remove_cvref_t<decltype(alternative)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return {};
        } else if constexpr (std::is_same_v<T, bytes_body>) {
          return {alternative.content_type,
                  std::make_unique<memory_source>(
                      std::forward<decltype(alternative)>(alternative).data)};
        } else if constexpr (std::is_same_v<T, file_body>) {
          return {alternative.content_type, std::make_unique<file_source>(alternative.path)};
        } else if constexpr (std::is_same_v<T, form_body>) {
          return encode_form(alternative);
        } else if constexpr (std::is_same_v<T, stream_body>) {
          std::string content_type = alternative.content_type;
          return {std::move(content_type), std::make_unique<stream_source>(
                                               std::forward<decltype(alternative)>(alternative))};
        } else {
          static_assert(std::is_same_v<T, multipart_body>);
          // A random boundary clashes with part data about never; drawing again makes sure.
          for (int attempt = 0; attempt < 8; ++attempt) {
            std::string boundary = random_multipart_boundary();
            if (!boundary_clash(alternative, boundary)) {
              return encode_multipart(alternative, std::move(boundary));
            }
          }
          throw courier::invalid_request(
              "could not find a multipart boundary absent from the parts");
        }
      },
      std::forward<Body>(b));
}

}  // namespace

body_source::~body_source() = default;

void body_source::async_read_failed(std::exception_ptr e) {
  std::rethrow_exception(e);
}

namespace {
// Most requests have no body: that case stays out of the visit.
COURIER_COLD encoded_body encode_some(const courier::body& b) {
  return encode_any(b);
}
COURIER_COLD encoded_body encode_some(courier::body&& b) {
  return encode_any(std::move(b));
}
}  // namespace
COURIER_HOT encoded_body encode_body(const courier::body& b) {
  if (std::holds_alternative<std::monostate>(b)) return {};
  return encode_some(b);
}
COURIER_HOT encoded_body encode_body(courier::body&& b) {
  if (std::holds_alternative<std::monostate>(b)) return {};
  return encode_some(std::move(b));
}

std::string url_encode_form(const std::vector<std::pair<std::string, std::string>>& fields) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  auto append = [&](std::string_view text) {
    for (char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '*' ||
          u == '-' || u == '.' || u == '_') {
        out += c;
      } else if (u == ' ') {
        out += '+';
      } else {
        out += '%';
        out += hex[u >> 4];
        out += hex[u & 0xf];
      }
    }
  };
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    append(name);
    out += '=';
    append(value);
  }
  return out;
}

encoded_body encode_multipart(const courier::multipart_body& body, std::string boundary) {
  if (!valid_boundary(boundary)) {
    throw courier::invalid_request("invalid multipart boundary '" + boundary +
                                   "' (RFC 2046: 1 to 70 letters, digits or '()+_,-./:=? )");
  }
  if (auto part = boundary_clash(body, boundary)) {
    throw courier::invalid_request("multipart boundary '" + boundary + "' occurs in part '" +
                                   *part + "'");
  }
  std::vector<std::unique_ptr<body_source>> pieces;
  std::string text;  // in-memory bytes not yet made a piece
  for (const multipart_part& part : body.parts) {
    text += part_head(part, boundary);
    if (part.file) {
      pieces.push_back(std::make_unique<memory_source>(std::move(text)));
      text.clear();
      pieces.push_back(std::make_unique<file_source>(*part.file));
    } else {
      text += part.value;
    }
    text += "\r\n";
  }
  text.append("--").append(boundary).append("--\r\n");
  pieces.push_back(std::make_unique<memory_source>(std::move(text)));

  std::unique_ptr<body_source> source;
  if (pieces.size() == 1) {
    source = std::move(pieces.front());
  } else {
    source = std::make_unique<sequence_source>(std::move(pieces));
  }
  return {"multipart/form-data; boundary=" + boundary, std::move(source)};
}

std::string random_multipart_boundary() {
  static constexpr char alphabet[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  unsigned char random[32];
  // Unpredictable, so that part data chosen by someone else cannot forge a boundary.
  if (RAND_bytes(random, sizeof(random)) != 1) {
    throw courier::error(make_error_code(errc::operation_aborted),
                         "the system random generator failed (multipart boundary)");
  }
  std::string boundary = "courier-";
  for (unsigned char r : random)
    boundary += alphabet[r % 62];
  return boundary;
}

}  // namespace detail
}  // namespace courier
